"""Score the metric extractor on two development sets: per-field precision/recall and the category confusion matrix.

Sets: ``bundled`` (the five reports in ``data/raw`` vs ``../shared/gold``) and
``extra`` (the 20 excerpts in ``../shared/corpus_extra`` vs the project's own
annotations in ``tests/data/extra_gold``). Both run the project pipeline:
ingest.read_document -> clean.clean_document -> metrics.mentions_from_document
(body paragraphs, title and headings). ``--source raw`` uses one paragraph per
raw line instead. Usage::

    .venv/bin/python benchmarks/score_metrics.py [--set bundled|extra|both] [--source pipeline|raw] [--quiet]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from analysis import metrics, tokens
from analysis.paths import PROJECT_ROOT, RAW_DIR
from analysis.records import Paragraph, Span

SHARED = PROJECT_ROOT.parent / "shared"
SETS = {
    "bundled": (RAW_DIR, SHARED / "gold"),
    "extra": (SHARED / "corpus_extra", PROJECT_ROOT / "tests" / "data" / "extra_gold"),
}


def paragraphs_from_raw(doc_id: str, raw: str) -> list[Paragraph]:
    """One paragraph per non-empty raw line, a single span each (raw offsets)."""
    out, pos = [], 0
    for line in raw.split("\n"):
        if line.strip():
            out.append(Paragraph(f"{doc_id}:p{len(out):03d}", doc_id, len(out), line, (Span(0, pos, len(line)),)))
        pos += len(line) + 1
    return out


def predict(text_dir: Path, doc_ids: list[str], source: str) -> pd.DataFrame:
    """Predicted mentions of the given documents of ``text_dir``."""
    from analysis import clean, ingest  # noqa: PLC0415

    mentions = []
    for doc_id in doc_ids:
        path = text_dir / f"{doc_id}.txt"
        if source == "pipeline":
            mentions += metrics.mentions_from_document(clean.clean_document(ingest.read_document(path)))
        else:
            paras = paragraphs_from_raw(doc_id, path.read_text(encoding="utf-8"))
            mentions += list(metrics.extract_metric_mentions(paras))
    return metrics.mentions_to_frame(mentions)


def _words(text: str) -> set[str]:
    if not text:
        return set()
    return {w for w in tokens.get_segmenter().tokenizer.lcut(text) if w.strip() and len(w) > 1}


def score(pred: pd.DataFrame, gold: pd.DataFrame, non_metrics: pd.DataFrame, *, verbose: bool = True) -> dict:
    """Match = same doc, overlapping span, equal value and unit (one-to-one, greedy in order).

    Per field (qualifier, is_rate, counted, category), precision is the share
    of predicted mentions whose value of the field is right (a mention that
    matches no gold row is wrong in every field), recall the share of gold rows
    matched with the right value. ``counted_overlap`` accepts a counted
    phrase that shares a word (jieba + domain dictionary) with the gold phrase.
    """
    gold = gold.copy().reset_index(drop=True)
    gold["value"] = gold["value"].astype(str)
    gold["counted"] = gold["counted"].fillna("")
    gold["is_rate"] = gold["is_rate"].astype(str).str.lower() == "true"
    used: set[int] = set()
    matches: list[tuple[int, int]] = []
    for pi, p in pred.iterrows():
        cands = gold[(gold.doc_id == p.doc_id) & (gold.start < p.end) & (p.start < gold.end)]
        for gi, g in cands.iterrows():
            if gi not in used and g.value == p.value and g.unit == p.unit:
                used.add(gi)
                matches.append((pi, gi))
                break
    n_pred, n_gold, n_match = len(pred), len(gold), len(matches)
    res: dict = {"n_pred": n_pred, "n_gold": n_gold, "n_match": n_match}
    res["precision"] = n_match / n_pred if n_pred else 0.0
    res["recall"] = n_match / n_gold if n_gold else 0.0
    pr = res["precision"] + res["recall"]
    res["f1"] = 2 * res["precision"] * res["recall"] / pr if pr else 0.0

    def field_ok(field: str, pi: int, gi: int) -> bool:
        if field == "counted_overlap":
            pv, gv = pred.loc[pi, "counted"], gold.loc[gi, "counted"]
            return pv == gv or bool(_words(pv) & _words(gv)) or (bool(pv) and bool(gv) and (pv in gv or gv in pv))
        return bool(pred.loc[pi, field] == gold.loc[gi, field])

    for field in ("surface", "qualifier", "is_rate", "counted", "counted_overlap", "category"):
        ok = sum(field_ok(field, pi, gi) for pi, gi in matches)
        res[f"{field}_accuracy"] = ok / n_match if n_match else 0.0
        res[f"{field}_precision"] = ok / n_pred if n_pred else 0.0
        res[f"{field}_recall"] = ok / n_gold if n_gold else 0.0
    flagged = 0
    for _, n in non_metrics.iterrows():
        hit = pred[(pred.doc_id == n.doc_id) & (pred.start < n.end) & (n.start < pred.end)]
        flagged += len(hit) > 0
    res["n_non_metric"] = len(non_metrics)
    res["n_non_metric_reported"] = flagged
    res["non_metric_reported_rate"] = flagged / len(non_metrics) if len(non_metrics) else 0.0
    cats = list(metrics.METRIC_CATEGORIES)
    conf = pd.DataFrame(0, index=pd.Index(cats, name="gold"), columns=pd.Index(cats, name="predicted"))
    for pi, gi in matches:
        conf.loc[gold.loc[gi, "category"], pred.loc[pi, "category"]] += 1
    res["confusion"] = conf
    if verbose:
        matched_p = {pi for pi, _ in matches}
        print("\n-- false positives (predicted, not in gold) --")
        for pi, p in pred.iterrows():
            if pi not in matched_p:
                print(f"  {p.doc_id[:3]} {p.start}-{p.end} {p.surface!r} {p.value} {p.unit} | {p.sentence[:50]}")
        print("\n-- misses (gold, not predicted) --")
        for gi, g in gold.iterrows():
            if gi not in used:
                print(f"  {g.doc_id[:3]} {g.start}-{g.end} {g.surface!r} {g.value} {g.unit}")
        for field in ("qualifier", "is_rate", "category", "counted"):
            print(f"\n-- {field} disagreements (pred vs gold) --")
            for pi, gi in matches:
                if not field_ok(field, pi, gi):
                    print(
                        f"  {gold.loc[gi, 'doc_id'][:3]} {gold.loc[gi, 'surface']!r}: "
                        f"{pred.loc[pi, field]!r} vs {gold.loc[gi, field]!r}"
                    )
    return res


def score_set(name: str, source: str, *, verbose: bool) -> dict:
    """Score one development set (``bundled`` or ``extra``)."""
    text_dir, gold_dir = SETS[name]
    gold = pd.read_csv(gold_dir / "metrics.csv", dtype={"value": str}, keep_default_na=False)
    non = pd.read_csv(gold_dir / "non_metrics.csv", keep_default_na=False)
    doc_ids = sorted(p.stem for p in text_dir.glob("*.txt"))
    pred = predict(text_dir, doc_ids, source)
    return score(pred, gold, non, verbose=verbose)


def print_result(name: str, res: dict) -> None:
    """Print the figures of one set and its confusion matrix."""
    print(f"\n== {name} ==")
    for k, v in res.items():
        if k != "confusion":
            print(f"  {k}: {v:.3f}" if isinstance(v, float) else f"  {k}: {v}")
    conf = res["confusion"]
    conf = conf.loc[conf.sum(axis=1) > 0, conf.sum(axis=0) > 0]
    print("  confusion (rows gold, columns predicted, matched mentions):")
    print("  " + conf.to_string().replace("\n", "\n  "))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--set", choices=["bundled", "extra", "both"], default="both")
    ap.add_argument("--source", choices=["pipeline", "raw"], default="pipeline")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    names = ["bundled", "extra"] if args.set == "both" else [args.set]
    for name in names:
        print_result(name, score_set(name, args.source, verbose=not args.quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
