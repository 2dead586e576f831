"""Rebuild src/analysis/resources/gazetteer.csv from cpca's adcodes.csv (MIT).

Usage: python scripts/build_gazetteer.py PATH/TO/cpca/resources/adcodes.csv

Not run by the pipeline: the derived file is committed with its source noted in
src/analysis/resources/SOURCES.md. Levels follow the 12-digit administrative
code: province (xx0000000000), city (prefecture level, xxxx00000000; for the
four municipalities the province itself), district (区) or county (县, 旗,
county-level 市 and the rest) for xxxxxx000000.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

MUNICIPALITIES = {"11", "12", "31", "50"}
OUT = Path(__file__).resolve().parent.parent / "src" / "analysis" / "resources" / "gazetteer.csv"


def main(src: str) -> None:
    rows = list(csv.DictReader(open(src, encoding="utf-8")))
    by_code = {r["adcode"]: r["name"] for r in rows}
    out = []
    for r in rows:
        code, name = r["adcode"], r["name"]
        if code[6:] != "000000":
            continue
        prov = by_code.get(code[:2] + "0" * 10, "")
        if code[2:] == "0" * 10:
            level, city = "province", (name if code[:2] in MUNICIPALITIES else "")
        elif code[4:] == "0" * 8:
            level, city = "city", name
        else:
            level = "district" if name.endswith("区") else "county"
            city = by_code.get(code[:4] + "0" * 8, "")
            if code[:2] in MUNICIPALITIES or city in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
                city = prov if code[:2] in MUNICIPALITIES else ""
        if level == "city" and code[4:6] == "00" and name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue
        if not name or name in ("市辖区", "县"):
            continue
        out.append((code[:6], name, level, city, prov))
    out.sort()
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["adcode", "name", "admin_level", "city", "province"])
        w.writerows(out)
    print(f"{len(out)} places written to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
