"""Detect the place a report is about from its title and text, using a national gazetteer.

The gazetteer (``resources/gazetteer.csv``: adcode, name, admin_level, city,
province) is derived from cpca's administrative codes (MIT; see
``resources/SOURCES.md``). Detection counts full place names (…区, …县, …市,
…省, …州, …旗, …盟) in the head (title and subtitle) and in the body.
"""

from __future__ import annotations

import csv
import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import paths

__all__ = ["Place", "PlaceGuess", "load_gazetteer", "find_places", "detect_place", "place_name_terms", "GAZETTEER_PATH"]

GAZETTEER_PATH = paths.RESOURCES_DIR / "gazetteer.csv"
#: A mention in the title or subtitle weighs as much as this many body mentions.
HEAD_WEIGHT = 10
_RE_SUFFIX = re.compile("[省市区县州旗盟]")
_LEVEL_RANK = {"province": 0, "city": 1, "district": 2, "county": 2}


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer entry."""

    adcode: str
    name: str
    admin_level: str
    city: str | None
    province: str


@dataclass(frozen=True, slots=True)
class PlaceGuess:
    """The detected place with its evidence.

    ``evidence`` says where the name was found (e.g. "title/subtitle 1×, body 7×");
    ``ambiguous`` lists other gazetteer places of the same name that were not
    chosen (e.g. the several 鼓楼区).
    """

    place: str
    admin_level: str
    city: str | None
    province: str
    adcode: str
    evidence: str
    ambiguous: tuple[str, ...] = ()

    def as_metadata(self) -> dict[str, str | None]:
        """The fields a ``CleanDocument`` takes from the guess."""
        return {
            "place": self.place,
            "admin_level": self.admin_level,
            "city": self.city,
            "province": self.province,
        }


@functools.lru_cache(maxsize=4)
def load_gazetteer(path: str | Path = GAZETTEER_PATH) -> dict[str, tuple[Place, ...]]:
    """Gazetteer entries keyed by name (a name may stand for several places)."""
    by_name: dict[str, list[Place]] = {}
    with Path(path).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            place = Place(
                adcode=row["adcode"],
                name=row["name"],
                admin_level=row["admin_level"],
                city=row["city"] or None,
                province=row["province"],
            )
            by_name.setdefault(place.name, []).append(place)
    return {name: tuple(sorted(places, key=lambda p: p.adcode)) for name, places in by_name.items()}


def find_places(text: str, *, gazetteer: dict[str, tuple[Place, ...]] | None = None) -> Counter[str]:
    """Count the gazetteer names in ``text`` (longest name ending at each suffix character).

    Runs in linear time: only positions whose character can end a place name
    (省市区县州旗盟) are looked at, with the names of 2 to 10 characters that
    end there.

    Examples
    --------
    >>> sorted(find_places("郑州市中原区召开大会,中原区干部参加").items())
    [('中原区', 2), ('郑州市', 1)]
    """
    gaz = load_gazetteer() if gazetteer is None else gazetteer
    counts: Counter[str] = Counter()
    last_end = 0
    for m in _RE_SUFFIX.finditer(text):
        end = m.end()
        for length in range(min(10, end - last_end), 1, -1):
            name = text[end - length : end]
            if name in gaz:
                counts[name] += 1
                last_end = end
                break
    return counts


def detect_place(title: str, text: str, *, gazetteer: dict[str, tuple[Place, ...]] | None = None) -> PlaceGuess | None:
    """The place a report is about, or ``None`` when no gazetteer name occurs.

    Parameters
    ----------
    title : str
        Title and subtitle (the head), where the subject is usually named.
    text : str
        The body.

    Notes
    -----
    Score = ``HEAD_WEIGHT`` × head mentions + body mentions; the best score
    wins, ties go to the lower administrative level (a district report names
    its city too). A name shared by several places (鼓楼区) is resolved by
    the city or province named most in the text; the others are listed in
    ``ambiguous``.

    Examples
    --------
    >>> g = detect_place("云溪区扎实推进党史学习教育", "云溪区534个基层党组织……岳阳市")
    >>> (g.place, g.admin_level, g.city, g.province)
    ('云溪区', 'district', '岳阳市', '湖南省')
    """
    gaz = load_gazetteer() if gazetteer is None else gazetteer
    head = find_places(title, gazetteer=gaz)
    body = find_places(text, gazetteer=gaz)
    names = sorted(set(head) | set(body))
    if not names:
        return None
    context = head + body

    def score(name: str) -> tuple[int, int, str]:
        places = gaz[name]
        rank = max(_LEVEL_RANK.get(p.admin_level, 0) for p in places)
        return (HEAD_WEIGHT * head[name] + body[name], rank, name)

    best = max(names, key=lambda n: (score(n)[0], score(n)[1], [-ord(c) for c in n]))
    candidates = gaz[best]
    if len(candidates) > 1:
        chosen = max(
            candidates,
            key=lambda p: (context.get(p.city or "", 0) + context.get(p.province, 0), -int(p.adcode)),
        )
    else:
        chosen = candidates[0]
    others = tuple(f"{p.name} ({p.city or ''}{p.province})" for p in candidates if p is not chosen)
    return PlaceGuess(
        place=chosen.name,
        admin_level=chosen.admin_level,
        city=chosen.city,
        province=chosen.province,
        adcode=chosen.adcode,
        evidence=f"title/subtitle {head[best]}×, body {body[best]}×",
        ambiguous=others,
    )


def place_name_terms(extra: Iterable[str] = ()) -> frozenset[str]:
    """Every gazetteer name and its short form without the level suffix (中原区 -> 中原).

    Used to set place names aside in keyness and topic terms: a place's own
    name is trivially "distinctive" of its reports and says nothing about its
    themes. ``extra`` adds names (e.g. the corpus's ``place`` and ``city``
    values, which may be newer than the gazetteer).

    Examples
    --------
    >>> terms = place_name_terms(["某新区"])
    >>> {"中原区", "中原", "某新区", "某新"} <= terms, "党员" in terms
    (True, False)
    """
    names = set(load_gazetteer()) | {str(x) for x in extra if isinstance(x, str) and x}
    return frozenset(names | {name[:-1] for name in names if len(name) > 2})
