"""Score the metric extractor against ../shared/gold (per-field precision/recall and the misses).

Runs the project pipeline: ingest.read_document -> clean.clean_document ->
metrics.mentions_from_document. When ``clean`` is not available it falls back
to paragraphs built from the gold clean spans (``--source gold-clean``) or from
raw lines (``--source raw``). Usage: ``.venv/bin/python benchmarks/score_metrics.py [--source ...]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from analysis import metrics
from analysis.paths import PROJECT_ROOT, RAW_DIR
from analysis.records import Paragraph, Span

SHARED = PROJECT_ROOT.parent / "shared"
GOLD = SHARED / "gold"


def paragraphs_from_raw(doc_id: str, raw: str) -> list[Paragraph]:
    """One paragraph per non-empty raw line, a single span each (raw offsets)."""
    out, pos = [], 0
    for line in raw.split("\n"):
        if line.strip():
            out.append(
                Paragraph(f"{doc_id}:p{len(out):03d}", doc_id, len(out), line, (Span(0, pos, len(line)),))
            )
        pos += len(line) + 1
    return out


def paragraphs_from_gold_clean(doc_id: str, raw: str) -> list[Paragraph]:
    """Paragraphs rebuilt from the gold clean raw spans (joins over page breaks kept as spans)."""
    gold = json.loads((GOLD / "clean" / f"{doc_id}.json").read_text(encoding="utf-8"))
    out = []
    for i, spans in enumerate(gold["raw_spans"]["paragraphs"]):
        text, sp, t = "", [], 0
        for s, e in spans:
            sp.append(Span(t, s, e - s))
            text += raw[s:e]
            t += e - s
        out.append(Paragraph(f"{doc_id}:p{i:03d}", doc_id, i, text, tuple(sp)))
    return out


def pipeline_paragraphs(path: Path) -> list[Paragraph]:
    from analysis import clean, ingest  # noqa: PLC0415 - optional until the cleaning stage lands

    return list(clean.clean_document(ingest.read_document(path)).paragraphs)


def predict(source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    mentions, excluded = [], []
    for path in sorted(RAW_DIR.glob("*.txt")):
        doc_id = path.stem
        raw = path.read_text(encoding="utf-8")
        if source == "pipeline":
            paras = pipeline_paragraphs(path)
        elif source == "gold-clean":
            paras = paragraphs_from_gold_clean(doc_id, raw)
        else:
            paras = paragraphs_from_raw(doc_id, raw)
        mentions += list(metrics.extract_metric_mentions(paras))
        excluded += list(metrics.extract_excluded_numbers(paras))
    return metrics.mentions_to_frame(mentions), metrics.excluded_to_frame(excluded)


def score(pred: pd.DataFrame, gold: pd.DataFrame, non_metrics: pd.DataFrame, *, verbose: bool = True) -> dict:
    """Match = same doc, overlapping span, equal value and unit (one-to-one, greedy in order)."""
    gold = gold.copy()
    gold["value"] = gold["value"].astype(str)
    used: set[int] = set()
    matches = []
    for pi, p in pred.iterrows():
        cands = gold[(gold.doc_id == p.doc_id) & (gold.start < p.end) & (p.start < gold.end)]
        for gi, g in cands.iterrows():
            if gi not in used and g.value == p.value and g.unit == p.unit:
                used.add(gi)
                matches.append((pi, gi))
                break
    n_match = len(matches)
    precision = n_match / len(pred) if len(pred) else 0.0
    recall = n_match / len(gold) if len(gold) else 0.0
    res = {
        "n_pred": len(pred),
        "n_gold": len(gold),
        "n_match": n_match,
        "precision": precision,
        "recall": recall,
    }
    for field in ("surface", "qualifier", "is_rate", "counted", "category"):
        ok = 0
        for pi, gi in matches:
            pv, gv = pred.loc[pi, field], gold.loc[gi, field]
            if field == "is_rate":
                gv = str(gv).lower() == "true"
            ok += pv == gv
        res[f"{field}_accuracy"] = ok / n_match if n_match else 0.0
    flagged = 0
    for _, n in non_metrics.iterrows():
        hit = pred[(pred.doc_id == n.doc_id) & (pred.start < n.end) & (n.start < pred.end)]
        flagged += len(hit) > 0
    res["non_metric_reported_rate"] = flagged / len(non_metrics)
    res["n_non_metric_reported"] = flagged
    if verbose:
        matched_p = {pi for pi, _ in matches}
        print("\n-- false positives (predicted, not in gold) --")
        for pi, p in pred.iterrows():
            if pi not in matched_p:
                print(
                    f"  {p.doc_id[:3]} {p.start}-{p.end} {p.surface!r} {p.value} {p.unit} | {p.sentence[:60]}"
                )
        print("\n-- misses (gold, not predicted) --")
        for gi, g in gold.iterrows():
            if gi not in used:
                print(f"  {g.doc_id[:3]} {g.start}-{g.end} {g.surface!r} {g.value} {g.unit}")
        for field in ("qualifier", "is_rate", "category", "counted"):
            print(f"\n-- {field} disagreements (pred vs gold) --")
            for pi, gi in matches:
                pv, gv = pred.loc[pi, field], gold.loc[gi, field]
                if field == "is_rate":
                    gv = str(gv).lower() == "true"
                if pv != gv:
                    print(f"  {gold.loc[gi, 'doc_id'][:3]} {gold.loc[gi, 'surface']!r}: {pv!r} vs {gv!r}")
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--source", choices=["pipeline", "gold-clean", "raw"], default="pipeline")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    gold = pd.read_csv(GOLD / "metrics.csv", dtype={"value": str})
    non = pd.read_csv(GOLD / "non_metrics.csv")
    pred, _ = predict(args.source)
    res = score(pred, gold, non, verbose=not args.quiet)
    print(f"\nsource={args.source}")
    for k, v in res.items():
        print(f"  {k}: {v:.3f}" if isinstance(v, float) else f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
