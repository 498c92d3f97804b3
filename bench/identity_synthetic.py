"""A labelled synthetic UK-style population for the identity benchmarks.

Persons live in households (shared surname, address and postcode; some twins), and appear
at several agencies, each record a corrupted copy: typos, nicknames, transposed or mistyped
dates, hyphenated, changed or swapped names, missing postcodes, moved addresses. Every
record carries the true person id, so link decisions can be scored.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

MALE = """James John Robert Michael William David Richard Joseph Thomas Charles Christopher Daniel
Matthew Anthony Mark Paul Steven Andrew Kenneth Joshua Kevin Brian George Timothy Ronald Edward
Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin
Samuel Gregory Alexander Frank Patrick Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan
Henry Douglas Zachary Peter Kyle Ethan Walter Noah Jeremy Christian Keith Roger Terry Harry
Oliver Mohammed Ali Liam Connor Callum Declan Rhys Owen Dylan Kieran Jamal Kwame Tomasz Piotr
Arjun Rahul Imran Hassan Yusuf Emeka Chidi Dariusz""".split()
FEMALE = """Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy
Betty Margaret Sandra Ashley Kimberley Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah
Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Helen Anna Brenda Pamela Nicola
Emma Samantha Katherine Christine Debra Rachel Catherine Carolyn Janet Ruth Maria Heather Diane
Virginia Julie Joyce Victoria Olivia Kelly Christina Lauren Joan Evelyn Judith Megan Andrea
Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison Frances Kathryn Janice Jean
Abigail Alice Judy Sophia Grace Denise Amber Doris Marilyn Danielle Beverly Isabel Theresa
Diana Natalie Brittany Charlotte Marie Kayla Alexis Lori Aisha Fatima Priya Anjali Agnieszka
Siobhan Niamh Bronwen Chloe Amara Ngozi Zainab Leah Freya Poppy""".split()
SURNAMES = """Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood
Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James
Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter
Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson
Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain
Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher
Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard
Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole
Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant
Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe
Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson
Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson Parry
Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton
Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Harper Coleman Watkins Moss
McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle
Wallace George Jordan Hutchinson Rowe Burke May Pritchard Gilbert Willis Higgins Read Miles
Stevenson Stephenson Hammond Arnold Buckley Walters Hewitt Barber Nowak Kowalski Okafor Mensah
Adeyemi Nguyen Chen Wang Zhang Kumar Sharma Choudhury Rahman Islam Mahmood Iqbal Abbasi""".split()
STREETS = """High Street|Station Road|Main Street|Park Road|Church Road|Church Street|London Road|
Victoria Road|Green Lane|Manor Road|Church Lane|Park Avenue|The Avenue|The Crescent|Queens Road|
New Road|Grange Road|Kings Road|Kingsway|Windsor Road|Highfield Road|Mill Lane|Alexander Road|
York Road|St Johns Road|Main Road|Broadway|King Street|The Green|Springfield Road|George Street|
Park Lane|Victoria Street|Albert Road|Queensway|Chester Road|Stanley Road|Ash Grove|Elm Road|
Oak Avenue|Cedar Close|Mill Road|School Lane|North Street|Rectory Lane|Willow Way""".replace(
    "\n", ""
).split("|")
AREAS = "M OL BL SK WN WA B CV LS BD S L CH NE SR DH E N SE SW W NW EC BS CF LE NG".split()
NICKNAMES = {
    "William": ["Bill", "Will", "Billy", "Liam"],
    "Robert": ["Bob", "Rob", "Bobby"],
    "Richard": ["Rick", "Dick", "Rich"],
    "James": ["Jim", "Jimmy", "Jamie"],
    "Michael": ["Mike", "Mick"],
    "Thomas": ["Tom", "Tommy"],
    "Christopher": ["Chris"],
    "Daniel": ["Dan", "Danny"],
    "Matthew": ["Matt"],
    "Anthony": ["Tony"],
    "Andrew": ["Andy"],
    "Joseph": ["Joe"],
    "Edward": ["Ed", "Eddie", "Ted"],
    "Benjamin": ["Ben"],
    "Samuel": ["Sam"],
    "Alexander": ["Alex"],
    "Nicholas": ["Nick"],
    "Jonathan": ["Jon"],
    "Stephen": ["Steve"],
    "Timothy": ["Tim"],
    "Peter": ["Pete"],
    "Patrick": ["Pat"],
    "Elizabeth": ["Liz", "Beth", "Lizzie"],
    "Margaret": ["Maggie", "Peggy"],
    "Patricia": ["Pat", "Trish"],
    "Jennifer": ["Jen", "Jenny"],
    "Rebecca": ["Becky"],
    "Katherine": ["Kate", "Katie"],
    "Catherine": ["Cathy", "Kate"],
    "Deborah": ["Debbie"],
    "Samantha": ["Sam"],
    "Victoria": ["Vicky"],
    "Susan": ["Sue"],
    "Jacqueline": ["Jackie"],
    "Christine": ["Chris"],
    "Abigail": ["Abby"],
    "Kimberley": ["Kim"],
    "Alexis": ["Alex"],
    "Judith": ["Judy"],
    "Frances": ["Fran"],
    "Amanda": ["Mandy"],
    "Dorothy": ["Dot"],
}
AGENCIES = ["housing", "council-asc", "nhs-mh", "gp-elm", "police", "dwp", "school-oak"]


@dataclass
class Person:
    pid: int
    given: str
    family: str
    dob: date
    sex: str
    postcode: str
    address: str
    nhs: str
    nino: str | None
    middle: str | None = None


@dataclass
class Record:
    person: int
    agency: str
    local_id: str
    given_name: str | None
    family_name: str | None
    birth_date: date | None
    sex: str | None
    postcode: str | None
    address_line: str | None
    identifiers: dict[str, str] = field(default_factory=dict)
    other_names: list[str] = field(default_factory=list)


def nhs_number(rng: random.Random) -> str:
    while True:
        digits = [rng.randint(0, 9) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    while first + second in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
        second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    return first + second + "".join(rng.choices(string.digits, k=6)) + rng.choice("ABCD")


def postcode(rng: random.Random) -> str:
    area = rng.choice(AREAS)
    unit = "".join(rng.choices("ABDEFGHJLNPQRSTUWXYZ", k=2))
    return f"{area}{rng.randint(1, 29)} {rng.randint(0, 9)}{unit}"


def address(rng: random.Random) -> str:
    return f"{rng.randint(1, 220)} {rng.choice(STREETS)}"


def _zipf_choice(rng: random.Random, items: list[str]) -> str:
    # Common surnames are much more common: rank r drawn with weight 1/(r+5).
    return rng.choices(items, weights=[1 / (r + 5) for r in range(len(items))], k=1)[0]


LATEST_DOB = date(2025, 12, 31)


def make_population(n_persons: int, seed: int = 7) -> list[Person]:
    rng = random.Random(seed)
    people: list[Person] = []
    while len(people) < n_persons:
        family = _zipf_choice(rng, SURNAMES)
        pc, addr = postcode(rng), address(rng)
        size = rng.choices([1, 2, 3, 4, 5], weights=[35, 30, 15, 12, 8])[0]
        adult_year = rng.randint(1940, 2000)
        twins = size >= 3 and rng.random() < 0.15
        twin_dob = date(min(adult_year + 25, 2024), rng.randint(1, 12), rng.randint(1, 28))
        for i in range(size):
            sex = rng.choice("FM")
            given = rng.choice(FEMALE if sex == "F" else MALE)
            if i < 2:
                dob = date(adult_year + rng.randint(-3, 3), rng.randint(1, 12), rng.randint(1, 28))
            elif twins and i in (2, 3):
                dob = twin_dob
            else:
                dob = date(
                    min(adult_year + rng.randint(20, 40), 2024),
                    rng.randint(1, 12),
                    rng.randint(1, 28),
                )
            middle = rng.choice(FEMALE if sex == "F" else MALE) if rng.random() < 0.3 else None
            people.append(
                Person(
                    len(people),
                    given,
                    family,
                    dob,
                    sex,
                    pc,
                    addr,
                    nhs_number(rng),
                    nino(rng) if dob.year < 2008 else None,
                    middle,
                )
            )
    return people[:n_persons]


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 3:
        return s
    i = rng.randrange(1, len(s))
    kind = rng.random()
    if kind < 0.3:
        return s[:i] + rng.choice(string.ascii_lowercase) + s[i + 1 :]
    if kind < 0.55:
        return s[:i] + s[i + 1 :]
    if kind < 0.8:
        return s[:i] + rng.choice(string.ascii_lowercase) + s[i:]
    j = min(i + 1, len(s) - 1)
    return s[:i] + s[j] + s[i] + s[j + 1 :] if j > i else s


def corrupt(rng: random.Random, p: Person, agency: str, local_id: str) -> Record:
    given: str | None = p.given
    family: str | None = p.family
    other: list[str] = []
    dob: date | None = p.dob
    pc: str | None = p.postcode
    addr: str | None = p.address
    sex: str | None = {"F": "female", "M": "male"}[p.sex]
    if rng.random() < 0.12 and p.given in NICKNAMES:
        given = rng.choice(NICKNAMES[p.given])
    if rng.random() < 0.08:
        given = _typo(rng, given or "")
    if rng.random() < 0.08:
        family = _typo(rng, family or "")
    if rng.random() < 0.05:  # married, or a double-barrelled name
        new = _zipf_choice(rng, SURNAMES)
        family, other = (f"{p.family}-{new}", []) if rng.random() < 0.5 else (new, [p.family])
    if rng.random() < 0.03:
        given, family = family, given
    if p.middle and rng.random() < 0.2:
        other.append(p.middle)
    if rng.random() < 0.03 and dob and dob.day <= 12:
        dob = date(dob.year, dob.day, dob.month)
    elif rng.random() < 0.04 and dob:
        # A mistyped date is still a date in the past: the service refuses future ones.
        dob = min(dob + timedelta(days=rng.choice([-1, 1, 10, -10, 365, -365])), LATEST_DOB)
    if rng.random() < 0.02:
        dob = None
    if rng.random() < 0.12:
        pc = None
    if rng.random() < 0.10:
        pc, addr = postcode(rng), address(rng)  # moved since
    if rng.random() < 0.05:
        sex = None
    ids: dict[str, str] = {}
    if agency in ("nhs-mh", "gp-elm") and rng.random() < 0.85:
        ids["nhs_number"] = p.nhs
    elif agency == "council-asc" and rng.random() < 0.4:
        ids["nhs_number"] = p.nhs
    if p.nino and (
        (agency == "dwp" and rng.random() < 0.95)
        or (agency in ("police", "housing") and rng.random() < 0.25)
    ):
        ids["nino"] = p.nino
    return Record(p.pid, agency, local_id, given, family, dob, sex, pc, addr, ids, other)


def make_records(people: list[Person], seed: int = 11) -> list[Record]:
    """Each person is known to 1-4 agencies; records come back in a random arrival order."""
    rng = random.Random(seed)
    records: list[Record] = []
    for p in people:
        n = rng.choices([1, 2, 3, 4], weights=[30, 35, 25, 10])[0]
        if p.dob.year >= 2008:
            pool = ["school-oak", "council-asc", "gp-elm", "nhs-mh", "housing"]
        else:
            pool = [a for a in AGENCIES if a != "school-oak"]
        for agency in rng.sample(pool, n):
            records.append(corrupt(rng, p, agency, f"{agency[:3].upper()}-{len(records):07d}"))
            if rng.random() < 0.03:  # the same agency registers the person twice
                records.append(corrupt(rng, p, agency, f"{agency[:3].upper()}-{len(records):07d}d"))
    rng.shuffle(records)
    return records


def as_body(r: Record) -> dict[str, object]:
    """The JSON body an agency would POST to /records."""
    return {
        "local_id": r.local_id,
        "given_name": r.given_name,
        "family_name": r.family_name,
        "other_names": r.other_names,
        "birth_date": r.birth_date.isoformat() if r.birth_date else None,
        "sex": r.sex,
        "postcode": r.postcode,
        "address_line": r.address_line,
        "identifiers": r.identifiers,
    }


__all__ = ["Person", "Record", "as_body", "make_population", "make_records", "replace"]
