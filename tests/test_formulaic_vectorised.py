"""The vectorised steps of analysis.formulaic give exactly what the original per-character loops gave (RQ3 at scale).

Each reference below is the loop the module used before it was vectorised, kept here as an oracle and run
on random texts that mix lexicon entries, reused passages, punctuation, full-width characters and
paragraphs without content.
"""

from __future__ import annotations

import random
import re
import unicodedata

import numpy as np
import pandas as pd
import pytest

from analysis import formulaic

_LOCAL = [chr(c) for c in range(0x4E00 + 600, 0x4E00 + 900)]
_PUNCT = list("，。、；：“”！？ （）《》") + ["Ａ", "ｂ", "１", "2", "\u3000"]


def _random_paragraph(rng: random.Random, lexicon: formulaic.Formulations, shared: list[str]) -> str:
    pieces = []
    for _ in range(rng.randint(0, 12)):
        roll = rng.random()
        if roll < 0.2:
            pieces.append(rng.choice(lexicon.slogans))
        elif roll < 0.35:
            pieces.append(rng.choice(lexicon.formulations))
        elif roll < 0.55:
            pieces.append(rng.choice(shared))
        elif roll < 0.75:
            pieces.append(rng.choice(_PUNCT))
        else:
            pieces.append("".join(rng.choice(_LOCAL) for _ in range(rng.randint(1, 15))))
    return "".join(pieces)


@pytest.fixture(scope="module")
def reports() -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    """30 reports of random paragraphs (one of only punctuation, one empty); places shared by 3 reports."""
    rng = random.Random(7)
    lexicon = formulaic.load_formulations()
    shared = ["".join(rng.choice(_LOCAL) for _ in range(rng.randint(6, 30))) for _ in range(8)]
    paras_by_doc = {}
    for i in range(30):
        doc_id = f"d{i:02d}"
        texts = [_random_paragraph(rng, lexicon, shared) for _ in range(rng.randint(1, 6))]
        paras_by_doc[doc_id] = [(f"{doc_id}:p{j:03d}", t) for j, t in enumerate(texts)]
    paras_by_doc["d03"].append(("d03:p099", "。，"))
    paras_by_doc["d04"].append(("d04:p099", ""))
    place_of = {d: f"地{int(d[1:]) // 3}" for d in paras_by_doc}
    return paras_by_doc, place_of


def _label_characters_reference(paras_by_doc, place_of, reused_mask_of, *, lexicon, runs):
    """The per-character loop of formulaic_shares before it was vectorised."""
    doc_ids, para_ids, counts_rows = [], [], []
    lexicon_hits, local_runs, reused_runs = [], [], []
    for doc_id in sorted(paras_by_doc):
        place = place_of[doc_id]
        offset = 0
        for para_id, text in paras_by_doc[doc_id]:
            labels = [""] * len(text)
            for span in formulaic.find_slogans(text, lexicon=lexicon):
                lexicon_hits.append((place, "slogan", span.entry))
                for i in range(span.start, span.end):
                    labels[i] = labels[i] or "slogan"
            for span in formulaic.find_formulations(text, lexicon=lexicon):
                lexicon_hits.append((place, "formulation", span.entry))
                for i in range(span.start, span.end):
                    labels[i] = labels[i] or "formulation"
            mask = reused_mask_of[doc_id]
            for i in range(len(text)):
                if not labels[i]:
                    labels[i] = "reused" if mask[offset + i] else "local"
            counts = dict.fromkeys(formulaic.KINDS, 0)
            for ch, label in zip(text, labels, strict=True):
                if formulaic._is_content_char(ch):
                    counts[label] += 1
            doc_ids.append(doc_id)
            para_ids.append(para_id)
            counts_rows.append([counts[k] for k in formulaic.KINDS])
            for kind, sink in (("local", local_runs), ("reused", reused_runs)) if runs else ():
                for m in re.finditer(f"{kind[0]}+", "".join(lab[0] if lab == kind else "." for lab in labels)):
                    run = formulaic._strip_non_content(text[m.start() : m.end()])
                    if run:
                        sink.append((place, run, sum(formulaic._is_content_char(c) for c in run)))
            offset += len(text) + 1
    return doc_ids, para_ids, np.asarray(counts_rows, dtype=np.int64), lexicon_hits, reused_runs, local_runs


def _passage_spread_reference(passages, place_of=None):
    """passage_spread as a loop over the passages, before it was vectorised."""
    groups: dict[str, dict] = {}
    for doc_a, doc_b, n_chars, text in passages[["doc_a", "doc_b", "n_chars", "text"]].itertuples(index=False):
        key = formulaic.normalize_for_reuse(text)[0]
        group = groups.setdefault(key, {"texts": {}, "n_chars": int(n_chars), "docs": set(), "pairs": set()})
        group["texts"].setdefault(doc_a, text)
        group["docs"].update((doc_a, doc_b))
        group["pairs"].add((doc_a, doc_b))
    rows = []
    for group in groups.values():
        docs = sorted(group["docs"])
        places = sorted({place_of[d] for d in docs}) if place_of is not None else []
        rows.append((group["texts"][min(group["texts"])], group["n_chars"], len(docs),
                     len(places) if place_of is not None else pd.NA, len(group["pairs"]), ";".join(docs), ";".join(places)))
    out = pd.DataFrame(rows, columns=["passage", "n_chars", "n_documents", "n_places", "n_pairs", "doc_ids", "places"])
    out = out.sort_values(["n_documents", "n_chars", "passage"], ascending=[False, False, True], kind="mergesort")
    return out.reset_index(drop=True).astype(
        {"n_chars": "int64", "n_documents": "int64", "n_places": "Int64", "n_pairs": "int64"})


def _joined(paras_by_doc):
    return {d: "\n".join(t for _, t in paras) for d, paras in paras_by_doc.items()}


@pytest.mark.parametrize("min_chars", [4, 8])
@pytest.mark.parametrize("runs", [True, False])
def test_labelling_equals_the_character_loop(reports, min_chars, runs):
    paras_by_doc, place_of = reports
    lexicon = formulaic.load_formulations()
    masks = formulaic.reused_mask(_joined(paras_by_doc), min_chars=min_chars)
    got = formulaic._label_characters(paras_by_doc, place_of, masks, lexicon=lexicon, runs=runs)
    doc_ids, para_ids, counts, hits, reused_runs, local_runs = _label_characters_reference(
        paras_by_doc, place_of, masks, lexicon=lexicon, runs=runs)
    assert got.doc_ids == doc_ids and got.para_ids == para_ids
    np.testing.assert_array_equal(got.counts, counts)
    assert got.lexicon_hits == hits
    assert got.reused_runs == reused_runs and got.local_runs == local_runs
    # the inputs exercise every kind, runs and a paragraph without content
    assert (counts.sum(axis=0) > 0).all()
    assert (counts.sum(axis=1) == 0).sum() >= 2
    assert len(reused_runs) > 10 if runs else not reused_runs


def test_labelling_accepts_list_masks_of_the_all_pairs_method(reports):
    paras_by_doc, place_of = reports
    lexicon = formulaic.load_formulations()
    masks = {d: m.tolist() for d, m in formulaic.reused_mask(_joined(paras_by_doc)).items()}
    got = formulaic._label_characters(paras_by_doc, place_of, masks, lexicon=lexicon, runs=False)
    np.testing.assert_array_equal(got.counts, _label_characters_reference(
        paras_by_doc, place_of, masks, lexicon=lexicon, runs=False)[2])


@pytest.mark.parametrize("with_places", [True, False])
def test_passage_spread_equals_the_loop(reports, with_places):
    paras_by_doc, place_of = reports
    passages = formulaic.reused_passages(_joined(paras_by_doc), min_chars=6)
    assert len(passages) > 50
    got = formulaic.passage_spread(passages, place_of=place_of if with_places else None)
    want = _passage_spread_reference(passages, place_of if with_places else None)
    pd.testing.assert_frame_equal(got, want)
    assert (got["n_documents"] >= 3).any()


def test_passage_spread_of_no_passage_has_the_columns():
    empty = formulaic.reused_passages({"a": "甲乙丙丁", "b": "戊己庚辛"})
    pd.testing.assert_frame_equal(formulaic.passage_spread(empty), _passage_spread_reference(empty))


def _normalize_reference(text):
    """normalize_for_reuse written character by character, as it is specified."""
    chars, offsets = [], []
    for i, ch in enumerate(text):
        if ch == "\n":
            folded = ch
        elif ch.isspace() or unicodedata.category(ch)[0] in "PSZC":
            continue
        else:
            folded = unicodedata.normalize("NFKC", ch).casefold()
        chars.extend(folded)
        offsets.extend([i] * len(folded))
    return "".join(chars), offsets


@pytest.mark.parametrize("text", [
    "学党史、 悟思想\n办实事!",
    "ＡＢｃ１２\u3000（办实事）ﬁ ß İ ①½㈠",  # characters folding to several characters
    "",
    "\n\n",
    "。，、！",
    "x\ud800y",  # a lone surrogate, as text decoded with surrogateescape can hold
])
def test_normalize_for_reuse_is_the_character_by_character_reference(text):
    assert formulaic.normalize_for_reuse(text) == _normalize_reference(text)


def test_fold_table_is_normalize_for_reuse():
    text = "学党史、悟思想 ＡＢｃ１２\n（办实事）\u3000开新局!"
    assert text.translate(formulaic._fold_table(set(text))) == formulaic.normalize_for_reuse(text)[0]


def test_lexicon_prefilter_keeps_every_match():
    # The literal head test must not lose a match whose phrases are separated differently from the lexicon form.
    text = "坚持学党史，悟思想；办实事、开新局和“三会一课”，不是十四史。"
    spans = formulaic._entry_spans(text, formulaic.load_formulations().slogans, "slogan")
    assert [e for _, _, e in spans] == ["学党史、悟思想、办实事、开新局"]
    assert [s.entry for s in formulaic.find_formulations(text)] == ["三会一课"]


def test_reuse_candidates_are_the_same_with_signatures_in_two_processes():
    # More distinct paragraphs than one signature task holds, so two processes share them; a report repeats
    # paragraphs of another with one character changed, so there are pairs to find.
    rng = random.Random(3)
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    n_paragraphs = formulaic._SIGNATURE_CHUNK + 500
    paragraphs = ["".join(rng.choices(alphabet, k=40)) for _ in range(n_paragraphs)]
    texts = {f"r{i:03d}": "\n".join(paragraphs[i * 55 : (i + 1) * 55]) for i in range(n_paragraphs // 55)}
    texts["copy"] = "\n".join(p[:-1] + "甲" for p in paragraphs[:30])
    one = formulaic.reuse_candidates(texts, jobs=1)
    two = formulaic.reuse_candidates(texts, jobs=2)
    pd.testing.assert_frame_equal(one, two)
    assert one[["doc_a", "doc_b"]].values.tolist() == [["copy", "r000"]]
    assert one.at[0, "n_paragraphs"] == 30
