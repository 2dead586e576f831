"""Place detection against the manifest (which a researcher filled in by hand)."""

from __future__ import annotations

import pytest

from analysis import ingest, paths, places


def test_detected_place_matches_manifest_for_bundled_corpus():
    manifest = ingest.read_manifest(paths.RAW_DIR / "manifest.csv")
    for document in ingest.read_corpus(paths.RAW_DIR).documents:
        head = document.raw_text[:300]
        guess = places.detect_place(head, document.raw_text)
        row = manifest[document.doc_id]
        assert (guess.place, guess.city, guess.province) == (row.place, row.city, row.province), document.doc_id


@pytest.mark.parametrize(
    "title, body, expected",
    [
        ("鼓楼区扎实推进党史学习教育", "福州市鼓楼区各级党组织……福州市", ("鼓楼区", "福州市", "福建省")),
        ("鼓楼区扎实推进党史学习教育", "南京市鼓楼区……南京市委", ("鼓楼区", "南京市", "江苏省")),
        ("全市党史学习教育综述", "长沙市各级党组织;芙蓉区、天心区也……长沙市", ("长沙市", "长沙市", "湖南省")),
        ("某县纪实", "寿县党员干部", ("寿县", "淮南市", "安徽省")),
    ],
)
def test_detect_place_resolves_level_and_ambiguity(title, body, expected):
    guess = places.detect_place(title, body)
    assert (guess.place, guess.city, guess.province) == expected


def test_no_place_gives_none():
    assert places.detect_place("学党史 悟思想", "各级党组织认真学习。") is None
