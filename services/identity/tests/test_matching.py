"""The pure linking rules: comparison levels, weights, blocking, decisions, EM."""

from __future__ import annotations

import math
import random
import re
from dataclasses import replace
from datetime import date

from services.identity.matching.blocking import blocking_keys, query_keys
from services.identity.matching.comparisons import (
    birth_date_level,
    compare,
    family_name_level,
    given_name_level,
    place_level,
)
from services.identity.matching.em import estimate_m, estimate_u
from services.identity.matching.linker import Candidate, decide
from services.identity.matching.nicknames import are_name_variants, canonical_given_name
from services.identity.matching.postcodes import UK
from services.identity.matching.profile import make_profile, normalise_name
from services.identity.matching.scoring import MatchModel, threshold_shift
from services.identity.matching.training import term_frequencies
from services.identity.pseudonyms import pseudonym_of

MODEL = MatchModel.load()
VERIFIED = frozenset({"nhs_number", "nino"})


def p(given="Jonathan", family="Smith", dob=date(1980, 3, 4), sex="male", pc="M1 4BT", **kw):
    return make_profile(
        given_name=given,
        family_name=family,
        birth_date=dob,
        sex=sex,
        postcode=UK.parse(pc) if pc else None,
        **kw,
    )


def test_names_are_normalised():
    assert normalise_name("  o'Brien-SMITH ") == "OBRIEN-SMITH"
    assert normalise_name("Zoë") == "ZOE"
    assert normalise_name("") is None


def test_given_name_levels():
    assert given_name_level(p(), p()) == "exact"
    assert given_name_level(p(given="Jon"), p()) == "nickname"
    assert given_name_level(p(given="Bill"), p(given="William")) == "nickname"
    assert given_name_level(p(given="Jonathon"), p()) == "jw92"
    assert given_name_level(p(given="J"), p()) == "initial"
    assert given_name_level(p(given="Mary"), p()) == "else"
    assert given_name_level(p(given=None), p()) is None
    # A middle name used as the first name.
    assert given_name_level(p(given="Jane"), p(given="Mary Jane")) == "nickname"


def test_family_name_levels():
    assert family_name_level(p(family="Smith-Jones"), p(family="Jones")) == "part"
    assert family_name_level(p(family="Jones", other_names=["Smith"]), p()) == "part"
    assert family_name_level(p(family="Smyth"), p()) in ("jw92", "phonetic")
    assert family_name_level(p(family="Okafor"), p()) == "else"


def test_birth_date_levels():
    d = date(1980, 3, 4)
    assert birth_date_level(d, d) == "exact"
    assert birth_date_level(d, date(1980, 4, 3)) == "transposed"
    assert birth_date_level(d, date(1981, 3, 4)) == "near"
    assert birth_date_level(d, date(1980, 3, 6)) == "near"
    assert birth_date_level(d, date(1975, 9, 20)) == "else"
    # Same day and month: near only when the year is one typo away (a digit, or two swapped).
    assert birth_date_level(date(1965, 5, 11), date(1956, 5, 11)) == "near"
    assert birth_date_level(date(1965, 5, 11), date(1916, 5, 11)) == "else"
    assert birth_date_level(None, d) is None


def test_place_levels_count_postcode_and_address_once():
    home = p(address_line="10 Mill Lane")
    assert place_level(home, p(address_line="10 Mill Lane")) == "address"
    assert place_level(home, p()) == "full"
    assert place_level(home, p(pc="M1 4ZZ")) == "sector"
    assert place_level(home, p(pc="M1 9AA")) == "district"
    assert place_level(home, p(pc="LS2 9JT")) == "else"
    assert place_level(home, p(pc=None)) is None


def test_another_house_number_is_another_home():
    home = p(address_line="43 Park Lane")
    # A street name recurs in every town: the same words in another postcode are no evidence.
    assert place_level(home, p(address_line="37 Park Lane", pc="LS2 9JT")) == "else"
    assert place_level(home, p(address_line="37 Park Lane")) == "full"  # same postcode only
    assert place_level(home, p(address_line="Flat 2, 43 Park Lane")) == "address"
    assert place_level(home, p(address_line="43 Prak Lane", pc="LS2 9JT")) == "full"
    assert (
        place_level(p(address_line="Flat 2, 43 Park Lane"), p(address_line="Flat 3, 43 Park Lane"))
        == "full"
    )


def test_nicknames_are_symmetric_with_a_canonical_form():
    assert are_name_variants("BOB", "ROBERT") and are_name_variants("ROBERT", "BOB")
    assert not are_name_variants("BOB", "JAMES")
    assert canonical_given_name("BILL") == canonical_given_name("WILLIAM")


def test_explanation_adds_up():
    score = MODEL.score(p(given="Jon", dob=date(1980, 4, 3)), p())
    assert abs(score.total - sum(f.weight for f in score.fields)) < 1e-9
    levels = {f.field: f.level for f in score.fields}
    assert levels["given_name"] == "nickname" and levels["birth_date"] == "transposed"
    assert score.as_dict()["fields"][0]["field"] == "given_name"


def test_swapped_given_and_family_names_still_match():
    score = MODEL.score(p(given="Smith", family="Jonathan"), p())
    assert score.names_swapped
    assert MODEL.outcome(score.total) == "link"


def test_a_swapped_multi_word_surname_scores_the_same_either_way_round():
    a, b = p(given="de la Cruz", family="Cambell"), p(given="Cambell", family="de la Cruz")
    one, other = MODEL.score(a, b), MODEL.score(b, a)
    assert one.names_swapped and other.names_swapped
    assert one.total == other.total and MODEL.outcome(one.total) == "link"


COMMON = replace(
    MODEL,
    term_frequencies={
        "family_name": {"SMITH": 0.04, "DELACRUZ": 0.02, "JONES": 0.001},
        "given_name": {"JONATHAN": 0.03},
    },
)


def _weight(score, field):
    return next(f for f in score.fields if f.field == field)


def test_an_agreeing_common_name_weighs_by_its_share():
    score = COMMON.score(p(), p())
    family, given = _weight(score, "family_name"), _weight(score, "given_name")
    assert family.term_frequency == 0.04 and given.term_frequency == 0.03
    assert abs(family.weight - math.log2(MODEL.m["family_name"]["exact"] / 0.04)) < 1e-9
    assert family.weight < MODEL.weights["family_name"]["exact"] - 2
    lost = MODEL.weights["family_name"]["exact"] - family.weight
    lost += MODEL.weights["given_name"]["exact"] - given.weight
    assert abs(MODEL.score(p(), p()).total - score.total - lost) < 1e-9
    assert score.as_dict()["fields"][1]["term_frequency"] == 0.04


def test_a_rare_or_unlisted_name_keeps_the_level_weight():
    # Below the field's u for "exact" (JONES), or not listed (OKAFOR): never raised.
    for family in ("Jones", "Okafor"):
        weight = _weight(COMMON.score(p(family=family), p(family=family)), "family_name")
        assert weight.term_frequency is None
        assert weight.weight == MODEL.weights["family_name"]["exact"]
    # Only an exact agreement is weighed by its share: a typo of Smith is not.
    near = _weight(COMMON.score(p(family="Smyth"), p()), "family_name")
    assert near.term_frequency is None and near.level != "exact"


def test_swapped_and_multi_word_names_are_weighed_by_the_agreed_name():
    swapped = COMMON.score(p(given="Smith", family="Jonathan"), p())
    assert swapped.names_swapped
    assert _weight(swapped, "family_name").term_frequency == 0.04
    spaced = COMMON.score(p(family="De La Cruz"), p(family="de la Cruz"))
    assert _weight(spaced, "family_name").term_frequency == 0.02


def test_term_frequencies_keep_only_names_commoner_than_u():
    names = (
        ["Smith"] * 10
        + ["Jones"] * 2
        + [f"Na{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(88)]
    )
    profiles = [p(family=n) for n in names] + [p(family=None)]
    u = {"family_name": {"exact": 0.015}, "given_name": {"exact": 0.5}}
    shares = term_frequencies(profiles, u)
    # 101 records, one with no surname: Smith 10/100, Jones 2/100; every given name agrees.
    assert shares == {"family_name": {"SMITH": 0.1, "JONES": 0.02}, "given_name": {"JONATHAN": 1.0}}


def test_one_shared_name_is_not_a_swap():
    # "Kyle Hanna" against "Hannah Laverty": only one name agrees the other way round.
    score = MODEL.score(p(given="Kyle", family="Hanna"), p(given="Hannah", family="Laverty"))
    assert not score.names_swapped


def test_blocking_survives_the_usual_errors():
    base = blocking_keys(p())
    assert base & blocking_keys(p(dob=date(1980, 4, 3)))  # transposed date
    assert base & blocking_keys(p(dob=date(1979, 1, 1)))  # wrong date, same names
    assert base & blocking_keys(p(given="Smith", family="Jonathan"))  # swapped names
    assert base & blocking_keys(p(family="Smyth", dob=None))  # typo, no date: same postcode
    assert base & blocking_keys(p(given="Jon", family="Smith-Jones", pc=None))
    assert not base & blocking_keys(p(given="Mary", family="Okafor", dob=date(1990, 1, 1)))


def test_a_large_block_needs_a_second_key_that_survives_swaps_typos_and_marriage():
    # At a million persons a date-of-birth block holds about 45 records, more than
    # SELECTIVE_BLOCK: a candidate from it must share a second key.
    stored = blocking_keys(p(address_line="10 Mill Lane"))

    def shared(**kw):
        return stored & query_keys(p(**kw))

    assert len(shared(given="Smith", family="Jonathon", pc="LS2 9JT")) >= 2  # swapped, typo
    assert len(shared(given="Jonathn", family="Smiht", pc="LS2 9JT")) >= 2  # typos in both
    married = shared(family="Okafor", other_names=["Smith"], pc="LS2 9JT")
    assert len(married) >= 2  # a former surname
    no_date = shared(given="Jon", dob=None, pc=None, address_line="10 Mill Lane")
    assert len(no_date) >= 2  # a nickname, no date, no postcode: the same home
    # Looked for under swapped names, but not stored under them: two people sharing only a
    # first name and a birth year are not paired by it.
    assert not stored & blocking_keys(p(given="Jonathan", family="Okafor", pc="LS2 9JT")) - {
        k for k in stored if k.startswith(("dob:", "gmd:"))
    }
    household = blocking_keys(p(given="Mary", dob=date(1983, 6, 1), address_line="10 Mill Lane"))
    assert not stored & household  # another initial and date at the same home: no key


def _cand(profile, person="P1", record="R1"):
    return Candidate(record_id=record, person_id=person, profile=profile)


def test_deterministic_identifier_links_outright_without_reading_candidates():
    read = []

    def candidates():  # as the service passes them: read only when needed
        read.append(True)
        yield _cand(p(), "P1", "R1")

    d = decide(
        p(), candidates(), MODEL, verified_types=VERIFIED, identifier_matches=[("nhs_number", "P9")]
    )
    assert (d.outcome, d.rule, d.person_id) == ("link", "deterministic:nhs_number", "P9")
    assert not read
    # A rejected identifier match decides nothing: the candidates are scored.
    d = decide(
        p(),
        candidates(),
        MODEL,
        verified_types=VERIFIED,
        identifier_matches=[("nhs_number", "P9")],
        excluded_persons=frozenset({"P9"}),
    )
    assert (d.outcome, d.person_id, d.candidates) == ("link", "P1", 1) and read


def test_probabilistic_link_review_and_new():
    linked = decide(p(given="Jon", family="Smyth"), [_cand(p())], MODEL, verified_types=VERIFIED)
    assert linked.outcome == "link" and linked.rule == "probabilistic:above-upper"
    assert linked.score is not None and linked.score.total >= MODEL.upper
    new = decide(
        p(given="Mary", family="Okafor", dob=date(1990, 1, 1), sex="female", pc="LS2 9JT"),
        [_cand(p())],
        MODEL,
        verified_types=VERIFIED,
    )
    assert new.outcome == "new" and new.rule == "probabilistic:below-lower"
    weak = decide(
        p(dob=None, pc=None, sex=None),
        [_cand(p(dob=None, pc="LS2 9JT"))],
        MODEL,
        verified_types=VERIFIED,
    )
    assert weak.outcome == "review" and weak.person_id == "P1"
    assert decide(p(), [], MODEL, verified_types=VERIFIED).rule == "no-candidates"


def test_twins_are_not_linked_automatically():
    twin = p(given="Jonathan", sex="male")
    other = p(given="Marcus", sex="male")
    d = decide(twin, [_cand(other)], MODEL, verified_types=VERIFIED)
    assert d.outcome == "review" and d.rule == "guard:given-name-differs"


def test_a_new_surname_without_the_old_one_is_a_question_for_a_person():
    d = decide(
        p(family="Okonkwo"), [_cand(p(address_line="1 A St"))], MODEL, verified_types=VERIFIED
    )
    assert d.outcome == "review" and d.rule == "guard:family-name-differs"
    known = decide(
        p(family="Okonkwo", other_names=["Smith"]), [_cand(p())], MODEL, verified_types=VERIFIED
    )
    assert known.outcome == "link"


def test_names_and_a_nearly_matching_birth_date_elsewhere_are_a_question_for_a_person():
    # Same names, a birth date one year out, another town, no shared identifier: at a million
    # persons this is as often a namesake as the same person (22 of 300 strangers linked).
    namesake = p(dob=date(1981, 3, 4), pc="LS2 9JT")
    d = decide(namesake, [_cand(p())], MODEL, verified_types=VERIFIED)
    assert d.outcome == "review" and d.rule == "guard:too-little-evidence"
    at_home = decide(p(dob=date(1981, 3, 4)), [_cand(p())], MODEL, verified_types=VERIFIED)
    assert at_home.outcome == "link"
    exact = decide(p(pc="LS2 9JT"), [_cand(p())], MODEL, verified_types=VERIFIED)
    assert exact.outcome == "link"


def test_guards_are_configuration():
    twin, other = p(given="Jonathan"), p(given="Marcus")
    d = decide(twin, [_cand(other)], MODEL, verified_types=VERIFIED, guards=frozenset())
    assert d.outcome == "link"


def test_differing_verified_identifiers_block_an_automatic_link():
    a = p(identifiers={"nhs_number": "9434765919"})
    b = p(identifiers={"nhs_number": "4010232137"})
    d = decide(a, [_cand(b)], MODEL, verified_types=VERIFIED)
    assert d.outcome == "review" and d.rule == "guard:verified-identifier-differs"


def test_a_rejected_person_is_never_proposed_again():
    d = decide(
        p(), [_cand(p())], MODEL, verified_types=VERIFIED, excluded_persons=frozenset({"P1"})
    )
    assert d.outcome == "new"
    d = decide(
        p(),
        [],
        MODEL,
        verified_types=VERIFIED,
        identifier_matches=[("nhs_number", "P1")],
        excluded_persons=frozenset({"P1"}),
    )
    assert d.outcome == "new"


def test_the_best_candidate_person_wins():
    cands = [_cand(p(given="Jon", family="Smyth"), "P1", "R1"), _cand(p(), "P2", "R2")]
    d = decide(p(), cands, MODEL, verified_types=VERIFIED)
    assert (d.person_id, d.record_id) == ("P2", "R2")


def test_explanation_names_no_other_record():
    d = decide(p(), [_cand(p(), "P-secret", "R-secret")], MODEL, verified_types=VERIFIED)
    text = repr(d.explanation(MODEL))
    assert "secret" not in text
    assert d.explanation(MODEL)["thresholds"] == {"upper": MODEL.upper, "lower": MODEL.lower}


def test_thresholds_rise_by_the_bits_a_larger_index_adds():
    assert threshold_shift(80_000, 20_000) == 2.0
    assert threshold_shift(20_000, 20_000) == 0.0
    assert threshold_shift(500, 20_000) == 0.0  # a small index keeps the thresholds as set
    assert threshold_shift(10**6, 0) == 0.0  # a reference of 0 turns the rise off


def test_the_same_pair_links_in_a_small_index_and_waits_in_a_large_one():
    # The same given name and date of birth, in another town, no surname or sex given.
    probe = p(family=None, sex=None, pc="LS2 7QT")
    total = MODEL.score(probe, p()).total
    assert MODEL.upper + 3 < total < MODEL.upper + 8

    def at(persons):
        cands = [_cand(p())]
        return decide(probe, cands, MODEL, verified_types=VERIFIED, persons=persons, **ref)

    ref = {"reference_persons": 1000}
    # A rise that puts the pair 1 bit below the upper threshold: review; 3 below the lower: new.
    review = at(int(1000 * 2 ** (total - MODEL.upper + 1)))
    new = at(int(1000 * 2 ** (total - MODEL.lower + 3)))
    assert at(1000).outcome == "link" and at(1000).shift == 0.0
    assert (review.outcome, review.rule) == ("review", "probabilistic:between-thresholds")
    assert (new.outcome, new.rule) == ("new", "probabilistic:below-lower")
    shown = review.explanation(MODEL)
    assert shown["thresholds"]["upper"] == round(MODEL.upper + review.shift, 3)
    assert shown["thresholds"]["upper"] > total >= shown["thresholds"]["lower"]
    assert shown["index_size"]["persons"] == review.persons


def test_identifiers_decide_in_an_index_of_any_size():
    d = decide(
        p(),
        [],
        MODEL,
        verified_types=VERIFIED,
        identifier_matches=[("nhs_number", "P1")],
        persons=10**7,
        reference_persons=1,
    )
    assert (d.outcome, d.person_id, d.rule) == ("link", "P1", "deterministic:nhs_number")


def test_em_recovers_m_from_a_mixture():
    rng = random.Random(3)
    vectors = []
    for i in range(4000):
        match = i % 5 == 0
        v = {f: None for f in MODEL.m}
        v["given_name"] = (
            "exact" if (match and rng.random() < 0.9) or rng.random() < 0.02 else "else"
        )
        v["family_name"] = (
            "exact" if (match and rng.random() < 0.9) or rng.random() < 0.03 else "else"
        )
        v["birth_date"] = (
            "exact" if (match and rng.random() < 0.95) or rng.random() < 0.01 else "else"
        )
        vectors.append(v)

    def unrelated():
        return {
            **{f: None for f in MODEL.m},
            "given_name": "exact" if rng.random() < 0.02 else "else",
            "family_name": "exact" if rng.random() < 0.03 else "else",
            "birth_date": "exact" if rng.random() < 0.01 else "else",
        }

    randoms = [unrelated() for _ in range(5000)]
    u = estimate_u(randoms)
    m, lam = estimate_m(vectors, MODEL, u)
    assert 0.15 < lam < 0.25
    assert m["birth_date"]["exact"] > 0.85
    assert m["given_name"]["exact"] > 0.8


def test_model_round_trips_through_json(tmp_path):
    MODEL.save(tmp_path / "m.json")
    again = MatchModel.load(tmp_path / "m.json")
    assert again.weights == MODEL.weights and again.upper == MODEL.upper
    COMMON.save(tmp_path / "c.json")
    again = MatchModel.load(tmp_path / "c.json")
    assert again.term_frequencies == COMMON.term_frequencies
    assert again.score(p(), p()).total == COMMON.score(p(), p()).total


def test_pseudonym_format_and_namespaces():
    a = pseudonym_of(b"k", "housing", "person-1")
    assert re.fullmatch(r"psn_[a-z2-7]{26}", a)
    assert a == pseudonym_of(b"k", "housing", "person-1")
    assert a != pseudonym_of(b"k", "police", "person-1")
    assert a != pseudonym_of(b"other", "housing", "person-1")
    assert a != pseudonym_of(b"k", "housing", "person-2")


def test_compare_gives_every_field():
    assert set(compare(p(), p())) == set(MODEL.m)


def test_a_new_surname_at_the_same_birth_date_and_address_links_but_twins_do_not():
    home = "12 Elm Road"
    twin = decide(
        p(given="Marcus", address_line=home),
        [_cand(p(address_line=home))],
        MODEL,
        verified_types=VERIFIED,
    )
    assert twin.outcome == "review" and twin.rule == "guard:given-name-differs"
    married = decide(
        p(family="Okonkwo", address_line=home),
        [_cand(p(address_line=home))],
        MODEL,
        verified_types=VERIFIED,
    )
    assert married.outcome == "link" and married.rule == "probabilistic:above-upper"
    other_dob = decide(
        p(family="Okonkwo", dob=date(1983, 9, 21), address_line=home),
        [_cand(p(address_line=home))],
        MODEL,
        verified_types=VERIFIED,
    )
    assert other_dob.outcome != "link"
