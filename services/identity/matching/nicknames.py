"""Common English given-name variants: a nickname matches its full name, and vice versa.

Each line is one family of names; a name may belong to several families ("Chris").
"""

from __future__ import annotations

from functools import lru_cache

_FAMILIES = """
alexander alex alec alexandre sandy xander lex
alexandra alex alexa sandra sandy lexi alexis
andrew andy drew andie
anthony tony ant antony
benjamin ben benny benji
charles charlie chas chuck charley
christopher chris kit topher
christine chris chrissy tina christina kirsty kristina
catherine kate katie cathy kathy cat kat katherine kathryn katharine kay kitty
daniel dan danny
david dave davey davy
deborah debbie debra deb
edward ed eddie ted teddy ned
elizabeth liz lizzie beth betty bess bessie eliza lisa libby elsie betsy
eleanor ellie nell nora ella elle
emily em emmy millie
frances fran fanny frankie
francis frank frankie
frederick fred freddie freddy
gregory greg
harold harry hal
henry harry hal hank
isabel isabella izzy bella isobel
jacob jake jack
james jim jimmy jamie jem
jennifer jen jenny jenna
john jack johnny jon jonathan
jonathan jon jonny nathan john
joseph joe joey jo
josephine jo josie
joshua josh
kenneth ken kenny
lawrence larry laurence laurie
leonard len lenny leo
margaret maggie meg peggy marge margie maisie greta
matthew matt matty
michael mike mikey mick micky
nicholas nick nicky nico
nicola nicky nikki
patricia pat patty trish tricia
patrick pat paddy
peter pete
philip phil pip phillip
rebecca becky becca bex
richard rich rick ricky dick richie
robert rob bob bobby robbie bert
ronald ron ronnie
samuel sam sammy
samantha sam sammy
sarah sally sara sadie
stephen steve stevie steven
susan sue susie suzanne suzy
theodore theo ted teddy
thomas tom tommy
timothy tim timmy
victoria vicky tori vic
william will bill billy willie liam wills
zachary zach zack
abigail abby abbie gail
amanda mandy manda
barbara barb babs
caroline carol carrie caz
dorothy dot dottie dolly
gwendolyn gwen wendy
helen nell ellie
jacqueline jackie jacqui
judith judy jude
kimberley kim kimberly
louise lou lulu louisa
mary molly polly mae
natalie nat talia
oliver ollie olly
penelope penny
rosemary rose rosie
terence terry tel
terese terry tess tessa theresa teresa
valerie val
"""


@lru_cache(maxsize=1)
def _families() -> tuple[dict[str, frozenset[int]], list[str]]:
    index: dict[str, set[int]] = {}
    heads: list[str] = []
    for i, line in enumerate(x for x in _FAMILIES.splitlines() if x.strip()):
        names = line.upper().split()
        heads.append(names[0])
        for name in names:
            index.setdefault(name, set()).add(i)
    return {name: frozenset(ids) for name, ids in index.items()}, heads


def nickname_families(name: str) -> frozenset[int]:
    """Which name families `name` (upper case) belongs to; empty when unknown."""
    return _families()[0].get(name, frozenset())


def are_name_variants(a: str, b: str) -> bool:
    """True when one is a known nickname or variant of the other."""
    return bool(nickname_families(a) & nickname_families(b))


def canonical_given_name(name: str) -> str:
    """A stable representative of the name's first family (its full form), for blocking."""
    families = nickname_families(name)
    return _families()[1][min(families)] if families else name
