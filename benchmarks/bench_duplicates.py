"""Near-duplicate detection: ``duplicates.find_duplicates`` (MinHash/LSH + exact check) vs comparing every pair.

Part 1, similarities on the real reports: the Jaccard similarity of 5-character
shingles between every pair of the 25 distinct reports (data/raw and
../shared/corpus_extra, read from there), and between each report and copies
of it: the page versions (gov, portal, WeChat layouts, through trafilatura and
cleaning), a GB18030 re-encoding, light edits (1 %, 2 %, 5 % of characters
replaced), a copy without its last paragraph, and its first half. This
places the threshold.

Part 2, scale: a synthetic collection of N reports made from the 25 (each
a random share of a report's paragraphs, shuffled, numbers changed: variants
of one report often overlap enough to be near-duplicates themselves) plus
10 % planted copies (1 % of characters edited). The truth is the exhaustive
pairwise Jaccard (every pair compared); ``find_duplicates`` is timed against
it, with its recall of the reports flagged and any report flagged wrongly.

Run: ``.venv/bin/python benchmarks/bench_duplicates.py [--sizes 500 2000]``
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import html_pages  # noqa: E402
from analysis import clean, duplicates, ingest, paths  # noqa: E402
from analysis.records import Document  # noqa: E402

EXTRA_DIR = paths.PROJECT_ROOT.parent / "shared" / "corpus_extra"


def _edit(text: str, share: float, rng: random.Random) -> str:
    chars = list(text)
    for i in rng.sample(range(len(chars)), int(share * len(chars))):
        chars[i] = "某"
    return "".join(chars)


def _cleaned_text(raw: str, doc_id: str = "x") -> str:
    return duplicates.document_text(clean.clean_document(Document(doc_id, "x", "utf-8", raw)))


def part1() -> None:
    files = sorted(paths.RAW_DIR.glob("*.txt")) + (sorted(EXTRA_DIR.glob("*.txt")) if EXTRA_DIR.is_dir() else [])
    docs = {f.stem: clean.clean_document(ingest.read_document(f)) for f in files}
    sets = {k: duplicates.shingles(duplicates.document_text(d)) for k, d in docs.items()}
    sims = sorted(((duplicates.jaccard(sets[a], sets[b]), a, b) for a, b in itertools.combinations(sorted(sets), 2)), reverse=True)
    zy = [s for s in sims if {s[1], s[2]} == {"000_418f3820d632331f", "001_33cfc71206ea1a12"}][0]
    print(f"{len(files)} distinct reports, {len(sims)} pairs: highest Jaccard {sims[0][0]:.3f} ({sims[0][1]} / {sims[0][2]}); "
          f"the two 中原区 reports {zy[0]:.3f}\n")
    rng = random.Random(0)
    variants = {
        "page, gov layout": lambda raw, d: _page(raw, "gov", d),
        "page, portal layout": lambda raw, d: _page(raw, "portal", d),
        "page, WeChat layout": lambda raw, d: _page(raw, "wechat", d),
        "GB18030 re-encoding": lambda raw, d: ingest.decode_bytes(raw.encode("gb18030"))[0],
        "1 % of characters edited": lambda raw, d: _edit(raw, 0.01, rng),
        "2 % edited": lambda raw, d: _edit(raw, 0.02, rng),
        "5 % edited": lambda raw, d: _edit(raw, 0.05, rng),
        "last paragraph dropped": lambda raw, d: raw[: raw.rstrip().rfind("\n")],
        "first half only": lambda raw, d: raw[: len(raw) // 2],
    }
    print("| copy of each report | min Jaccard | median | max |")
    print("|---|---|---|---|")
    for name, make in variants.items():
        values = []
        for f in files:
            document = ingest.read_document(f)
            copy = make(document.raw_text, docs[f.stem])
            values.append(duplicates.jaccard(sets[f.stem], duplicates.shingles(_cleaned_text(copy))))
        values.sort()
        print(f"| {name} | {values[0]:.3f} | {values[len(values) // 2]:.3f} | {values[-1]:.3f} |")


def _page(raw: str, layout: str, doc) -> str:  # noqa: ANN001
    from analysis import webtext

    page = html_pages.build_page(raw, layout, place=doc.place or "本区", title=doc.title or "党史学习教育工作动态")
    return webtext.extract_page(page.html).text


def _synthetic(n: int, rng: random.Random) -> tuple[list[tuple[str, str]], set[tuple[str, str]]]:
    bases = [duplicates.document_text(clean.clean_document(ingest.read_document(f))) for f in sorted(paths.RAW_DIR.glob("*.txt"))]
    if EXTRA_DIR.is_dir():
        bases += [duplicates.document_text(clean.clean_document(ingest.read_document(f))) for f in sorted(EXTRA_DIR.glob("*.txt"))]
    texts, planted = [], set()
    n_dup = n // 10
    for i in range(n - n_dup):
        paras = bases[i % len(bases)].split("\n")
        rng.shuffle(paras)
        paras = paras[: max(3, int(len(paras) * rng.uniform(0.5, 1.0)))]
        text = re.sub(r"\d+", lambda m: str(rng.randint(1, 99999)), "\n".join(paras))
        texts.append((f"r{i:06d}", text))
    for j in range(n_dup):
        src_id, src = texts[rng.randrange(len(texts) - 0)]
        dup_id = f"s{j:06d}"
        texts.append((dup_id, _edit(src, 0.01, rng)))
        planted.add((dup_id, src_id))
    return texts, planted


def part2(sizes: list[int]) -> None:
    print("\n| reports | exhaustive: s | reports flagged | find_duplicates: s | flagged | recall vs exhaustive | flagged wrongly | planted copies found |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        rng = random.Random(n)
        texts, planted = _synthetic(n, rng)
        t0 = time.perf_counter()
        sets = {k: duplicates.shingles(v) for k, v in texts}
        ids = sorted(sets)
        truth = set()
        for a, b in itertools.combinations(ids, 2):
            if duplicates.jaccard(sets[a], sets[b]) >= duplicates.DEFAULT_THRESHOLD:
                truth.add(b)  # b repeats the earlier a
        t_exh = time.perf_counter() - t0
        t0 = time.perf_counter()
        pairs = duplicates.find_duplicates(texts)
        t_lsh = time.perf_counter() - t0
        flagged = {p.doc_id for p in pairs}
        planted_ids = {a for a, _ in planted}
        print(
            f"| {n} | {t_exh:.1f} | {len(truth)} | {t_lsh:.1f} | {len(flagged)} | {len(flagged & truth) / len(truth):.3f} | "
            f"{len(flagged - truth)} | {len(flagged & planted_ids)}/{len(planted_ids)} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    args = parser.parse_args()
    part1()
    part2(args.sizes)


if __name__ == "__main__":
    main()
