"""Tests of the cleaning stage (analysis.clean) against the gold clean versions and on synthetic snippets."""

from __future__ import annotations

import difflib
import json
import random
from functools import cache
from pathlib import Path

import pytest

from analysis import clean, paths
from analysis.errors import InputError
from analysis.records import CleanDocument, Document

GOLD_DIR = paths.PROJECT_ROOT.parent / "shared" / "gold" / "clean"
GOLD_FILES = sorted(GOLD_DIR.glob("*.json"))
MARKUP_TEXTS = {"#", "##", "**", "■", "——"}

needs_gold = pytest.mark.skipif(not GOLD_FILES, reason=f"gold clean files not found in {GOLD_DIR}")


def _doc(raw: str, doc_id: str = "t", **meta) -> Document:
    return Document(doc_id=doc_id, source_path=f"{doc_id}.txt", encoding="utf-8", raw_text=raw, **meta)


@cache
def _rules() -> clean.CleaningRules:
    return clean.load_rules()


@cache
def _gold(doc_id: str) -> dict:
    return json.loads((GOLD_DIR / f"{doc_id}.json").read_text(encoding="utf-8"))


@cache
def _cleaned(doc_id: str) -> CleanDocument:
    raw = (paths.RAW_DIR / f"{doc_id}.txt").read_text(encoding="utf-8")
    return clean.clean_document(_doc(raw, doc_id), rules=_rules())


def _clean(raw: str, **meta) -> CleanDocument:
    return clean.clean_document(_doc(raw, **meta), rules=_rules())


DOC_IDS = [f.stem for f in GOLD_FILES]


# --------------------------------------------------------------------------
# against the gold clean versions
# --------------------------------------------------------------------------


@needs_gold
@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_paragraph_text_similarity(doc_id):
    ours = "".join(p.text for p in _cleaned(doc_id).paragraphs)
    gold = "".join(_gold(doc_id)["paragraphs"])
    ratio = difflib.SequenceMatcher(None, ours, gold, autojunk=False).ratio()
    print(f"{doc_id}: paragraph text similarity {ratio:.4f}")
    assert ratio >= 0.99


@needs_gold
@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_paragraph_count(doc_id):
    n_ours, n_gold = len(_cleaned(doc_id).paragraphs), len(_gold(doc_id)["paragraphs"])
    print(f"{doc_id}: {n_ours} paragraphs, gold {n_gold}")
    assert abs(n_ours - n_gold) <= 1


@needs_gold
@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_no_gold_removed_item_left_in_paragraphs(doc_id):
    paragraphs = [p.text for p in _cleaned(doc_id).paragraphs]
    items = [
        r["text"] for r in _gold(doc_id)["removed"] if len(r["text"]) >= 2 and r["text"] not in MARKUP_TEXTS
    ]
    left = [t for t in items if any(t in p for p in paragraphs)]
    print(f"{doc_id}: {len(items) - len(left)}/{len(items)} gold removals absent from paragraphs")
    assert not left


@needs_gold
@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_removals_match_gold(doc_id):
    ours = {(r.raw_start, r.raw_end, r.kind) for r in _cleaned(doc_id).removed}
    ours_chars = {(i, r.kind) for r in _cleaned(doc_id).removed for i in range(r.raw_start, r.raw_end)}
    gold = _gold(doc_id)["removed"]
    gold_chars = {(i, r["kind"]) for r in gold for i in range(r["start"], r["end"])}
    raw = _cleaned(doc_id).raw_text
    ours_chars = {(i, k) for i, k in ours_chars if not raw[i].isspace()}
    gold_chars = {(i, k) for i, k in gold_chars if not raw[i].isspace()}
    tp = len(ours_chars & gold_chars)
    precision = tp / len(ours_chars) if ours_chars else 1.0
    recall = tp / len(gold_chars) if gold_chars else 1.0
    print(
        f"{doc_id}: removed chars (with kind) precision {precision:.3f} recall {recall:.3f}; {len(ours)} items"
    )
    assert recall >= 0.95 and precision >= 0.95


@needs_gold
@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_gold_joins_made(doc_id):
    d = _cleaned(doc_id)
    outputs = "\n".join([d.title, *d.sections, *(p.text for p in d.paragraphs)])
    joins = [r["after"] for r in _gold(doc_id)["repairs"] if r["kind"] == "join_split"]
    missing = [a for a in joins if a not in outputs and a not in d.authors]
    print(f"{doc_id}: {len(joins) - len(missing)}/{len(joins)} gold joins made")
    assert not missing


@needs_gold
@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_header_fields(doc_id):
    d, g = _cleaned(doc_id).to_gold_dict(), _gold(doc_id)
    keys = ("title", "subtitle", "authors", "sections", "section_levels", "date")
    mismatches = {k: (d[k], g[k]) for k in keys if d[k] != g[k]}
    print(f"{doc_id}: header mismatches {mismatches}")
    assert not mismatches


@needs_gold
@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_paragraph_sections(doc_id):
    d, g = _cleaned(doc_id).to_gold_dict(), _gold(doc_id)
    agree = sum(a == b for a, b in zip(d["paragraph_sections"], g["paragraph_sections"], strict=False))
    print(f"{doc_id}: {agree}/{len(g['paragraph_sections'])} paragraph sections agree")
    assert d["paragraph_sections"] == g["paragraph_sections"]


@needs_gold
@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_every_raw_character_accounted_once(doc_id):
    d = _cleaned(doc_id)
    result = clean.account_characters(d)
    print(
        f"{doc_id}: unaccounted {len(result['unaccounted'])}, double-counted {len(result['double_counted'])}"
    )
    assert result == {"unaccounted": [], "double_counted": []}


@needs_gold
@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_paragraph_offsets_map_to_raw(doc_id):
    d = _cleaned(doc_id)
    rng = random.Random(f"offsets-{doc_id}")
    checked = 0
    for p in rng.sample(d.paragraphs, k=min(8, len(d.paragraphs))):
        for i in rng.sample(range(len(p.text)), k=min(25, len(p.text))):
            raw_char = d.raw_text[p.raw_offset(i)]
            if p.text[i].isspace():  # a join space stands for the raw line break it replaces
                assert raw_char.isspace()
            else:
                assert raw_char == p.text[i], (p.para_id, i)
            checked += 1
    # every span reproduces its text exactly, except single join spaces
    for p in d.paragraphs:
        for sp in p.spans:
            piece = p.text[sp.text_start : sp.text_end]
            if piece != " ":
                assert d.raw_text[sp.raw_start : sp.raw_end] == piece
    print(f"{doc_id}: {checked} sampled characters map back to raw")


@needs_gold
@pytest.mark.parametrize("doc_id", DOC_IDS)
def test_gold_dict_is_json_and_ids_are_stable(doc_id):
    d = _cleaned(doc_id)
    text = json.dumps(d.to_gold_dict(), ensure_ascii=False)
    assert json.loads(text)["doc_id"] == doc_id
    assert [p.para_id for p in d.paragraphs] == [f"{doc_id}:p{i:03d}" for i in range(len(d.paragraphs))]
    again = clean.clean_document(_doc(d.raw_text, doc_id), rules=_rules())
    assert json.dumps(again.to_gold_dict(), ensure_ascii=False) == text


@needs_gold
def test_displaced_block_is_moved_back():
    d = _cleaned("000_418f3820d632331f")
    kinds = [r.kind for r in d.repairs]
    assert kinds.count("move_fragment") == 1
    assert "truncated_fragment" not in kinds
    moved = next(p for p in d.paragraphs if "信息排查组,数据排查" in p.text)
    assert moved.section_index == 1
    assert moved.crosses_join(moved.text.index("排查组") + 1, moved.text.index("排查组") + 3)


# --------------------------------------------------------------------------
# synthetic snippets of the genre (not from the corpus)
# --------------------------------------------------------------------------

LEAD = "今年以来,某某县扎实开展主题教育,推动各项工作落地见效。"
BODY = "县委组织部统筹安排,召开推进会三次,督促各单位按时完成任务。"


def test_other_papers_byline_with_photo_marker():
    d = _clean(f"主题教育见实效\n\n{LEAD}\n\n本报通讯员 王某某 摄\n\n{BODY}\n")
    assert d.authors == ("本报通讯员 王某某",)
    assert [(r.text, r.kind) for r in d.removed] == [("摄", "byline")]
    assert [p.text for p in d.paragraphs] == [LEAD, BODY]


def test_byline_run_into_the_end_of_a_paragraph():
    d = _clean(f"主题教育见实效\n\n{LEAD}\n\n{BODY}本报记者 李某 通讯员 赵某某\n")
    assert d.authors == ("本报记者 李某", "通讯员 赵某某")
    assert d.paragraphs[-1].text == BODY


def test_other_cms_residue_and_navigation_removed():
    raw = (
        f"主题教育见实效\n来源:某某日报\n<!-- body start -->\n{LEAD}\n{BODY}\n"
        "发布时间:2022-03-01 10:00\nhttps://www.example.gov.cn/art/2022/3/1/art_1.html\n相关阅读\n上一篇:某某新闻\n"
    )
    d = _clean(raw)
    assert [p.text for p in d.paragraphs] == [LEAD, BODY]
    kinds = {r.text: r.kind for r in d.removed}
    assert kinds["来源:某某日报"] == "cms_residue"
    assert kinds["https://www.example.gov.cn/art/2022/3/1/art_1.html"] == "cms_residue"
    assert kinds["相关阅读"] == "navigation"
    assert kinds["上一篇:某某新闻"] == "navigation"
    assert clean.account_characters(d) == {"unaccounted": [], "double_counted": []}


def test_page_break_split_is_joined_and_logged():
    d = _clean(f"主题教育见实效\n\n{LEAD}\n\n全面推进基层治\n\n理现代化,取得明显成效。\n")
    assert [p.text for p in d.paragraphs] == [LEAD, "全面推进基层治理现代化,取得明显成效。"]
    (join,) = [r for r in d.repairs if r.kind == "join_split"]
    assert join.before == ("全面推进基层治\n\n理现代化,取得",) or "治\n\n理" in join.before[0]
    p = d.paragraphs[1]
    assert d.raw_text[p.raw_offset(p.text.index("理"))] == "理"


def test_caption_after_image_gap_and_credit_removed():
    raw = f"主题教育见实效\n\n{LEAD}\n\n\n\n党员志愿者走进社区。\n\n{BODY}\n\n图片由某某县委宣传部提供\n\n\n\n座谈会现场。\n"
    d = _clean(raw)
    assert [p.text for p in d.paragraphs] == [LEAD, BODY]
    assert {r.text: r.kind for r in d.removed} == {
        "党员志愿者走进社区。": "caption",
        "图片由某某县委宣传部提供": "photo_credit",
        "座谈会现场。": "caption",
    }


@pytest.mark.parametrize(
    "paragraph",
    [
        "记者从会上获悉,全县已完成整改任务一百余项。",  # 记者 in body text, not a byline
        "——坚持问题导向。各单位梳理问题清单,逐项整改到位。",  # run-in dash item stays
        "会议指出:",  # short but complete (ends with terminal punctuation)
        "“我们村的路终于修好了!”村民老张说。",
    ],
)
def test_body_paragraphs_stay_unchanged(paragraph):
    d = _clean(f"主题教育见实效\n\n{LEAD}\n\n{paragraph}\n\n{BODY}\n")
    assert [p.text for p in d.paragraphs] == [LEAD, paragraph, BODY]
    assert d.authors == ()
    assert not d.repairs


def test_markup_and_headings():
    raw = f"# 主题教育见实效\n\n{LEAD}\n\n## 学习有深度 实践有力度\n\n{BODY}\n\n■聚焦民生\n\n这是**重点工作**之一。\n"
    d = _clean(raw)
    assert d.title == "主题教育见实效"
    assert d.sections == ("学习有深度 实践有力度", "聚焦民生")
    assert d.section_levels == (1, 2)
    assert [p.text for p in d.paragraphs] == [LEAD, BODY, "这是重点工作之一。"]
    assert [p.section_index for p in d.paragraphs] == [None, 0, 1]
    assert sorted(r.text for r in d.removed if r.kind == "markup") == ["#", "##", "**", "**", "■"]


def test_subtitle_dash_and_kicker():
    d = _clean(f"主题教育见实效\n\n——某某县推进主题教育纪实\n\n{LEAD}\n")
    assert (d.title, d.subtitle) == ("主题教育见实效", "某某县推进主题教育纪实")
    assert ("——", "markup") in {(r.text, r.kind) for r in d.removed}
    d = _clean(f"{LEAD}\n\n# 学习有深度 实践有力度 某某县扎实推进主题教育\n\n{BODY}\n")
    assert (d.title, d.subtitle) == ("某某县扎实推进主题教育", "学习有深度 实践有力度")


def test_newline_mode_two_line_heading_quote_and_bracket_byline():
    raw = (
        "砥砺奋进新征程\n——某某县主题教育纪实\n"
        f"{LEAD}\n{BODY}\n强化组织领导\n压实工作责任\n"
        "该县举办“奋斗新时代\n青春勇担当”演讲比赛,反响热烈。\n"
        "各项工作有序推进。(张三\n李\n四)\n"
    )
    d = _clean(raw)
    assert d.sections == ("强化组织领导 压实工作责任",)
    assert d.paragraphs[2].text == "该县举办“奋斗新时代 青春勇担当”演讲比赛,反响热烈。"
    assert d.paragraphs[-1].text == "各项工作有序推进。"
    assert d.authors == ("张三", "李四")
    assert clean.account_characters(d) == {"unaccounted": [], "double_counted": []}


def test_title_completed_from_cms_record():
    raw = (
        "奋进新征程\n——某某县主题教育纪实\n"
        f"{LEAD}\n{BODY}\n"
        "2022-05-06\n00:00:00:0某某县主题教育纪实123http://10.0.0.1/pc/content_1.html11建功新时代\n"
        "奋进新征程/enpproperty-->\n"
    )
    d = _clean(raw)
    assert d.title == "建功新时代 奋进新征程"
    assert d.date == "2022-05-06"
    assert any(r.kind == "other" for r in d.repairs)
    assert clean.account_characters(d) == {"unaccounted": [], "double_counted": []}


def test_dangling_fragment_without_continuation_is_flagged():
    raw = f"主题教育见实效\n\n{LEAD}\n\n全县抽调干部组建工作专\n\n学习有深度 实践有力度\n\n{BODY}\n"
    d = _clean(raw)
    flagged = [r for r in d.repairs if r.kind == "truncated_fragment"]
    assert len(flagged) == 1 and "mid-sentence" in flagged[0].note
    assert d.paragraphs[1].flags == ("truncated_end",)
    assert any("truncated_fragment" in w for w in d.warnings)
    assert [r.kind for r in d.repairs].count("move_fragment") == 0


def test_place_detected_and_manifest_disagreement_warned():
    raw = "某县工作纪实\n\n郑州市中原区扎实开展主题教育,中原区各单位积极行动。\n"
    d = _clean(raw)
    assert d.place == "中原区" and d.city == "郑州市"
    assert d.metadata_source["place"].startswith("text")
    d = _clean(raw, place="云溪区", admin_level="district", city="岳阳市", province="湖南省")
    assert d.place == "云溪区"
    assert any("manifest gives place '云溪区'" in w for w in d.warnings)


# --------------------------------------------------------------------------
# corrections, rules, bad input
# --------------------------------------------------------------------------


def test_corrections_applied_logged_and_mapped(tmp_path):
    path = tmp_path / "corrections.yml"
    path.write_text(
        "- doc_id: t\n  find: 三次会议\n  replace: 三次推进会议\n  note: 漏字\n", encoding="utf-8"
    )
    corrections = clean.load_corrections(path)
    raw = f"主题教育见实效\n\n{LEAD}\n\n县里召开三次会议。\n"
    d = clean.clean_document(_doc(raw), corrections=corrections, rules=_rules())
    p = d.paragraphs[1]
    assert p.text == "县里召开三次推进会议。"
    (corr,) = [r for r in d.repairs if r.kind == "correction"]
    assert corr.before == ("三次会议",) and corr.after == "三次推进会议"
    assert raw[corr.raw_start : corr.raw_end] == "三次会议"
    # unchanged characters keep their offsets; replacement characters map to the replaced span's start
    assert d.raw_text[p.raw_offset(p.text.index("县"))] == "县"
    assert p.raw_offset(p.text.index("推")) == corr.raw_start
    assert d.raw_text[p.raw_offset(len(p.text) - 1)] == "。"
    assert clean.account_characters(d) == {"unaccounted": [], "double_counted": []}


def test_correction_matching_nothing_names_file_and_entry(tmp_path):
    path = tmp_path / "fix.yml"
    path.write_text(
        "corrections:\n  - {doc_id: t, find: 不存在的文字, replace: x, note: n}\n", encoding="utf-8"
    )
    corrections = clean.load_corrections(path)
    with pytest.raises(InputError, match=r"fix\.yml.*entry 0.*matches nothing"):
        clean.clean_document(_doc(f"标题\n\n{LEAD}\n"), corrections=corrections, rules=_rules())


def test_corrections_file_with_bad_entry(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("- {doc_id: t, find: a, replacement: b}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.yml.*entry 0.*required: doc_id, find, replace"):
        clean.load_corrections(path)


def test_rules_unknown_key_lists_allowed(tmp_path):
    text = clean.RULES_PATH.read_text(encoding="utf-8") + "\ncaption_min_chars: 3\n"
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        InputError, match=r"unknown key\(s\) \['caption_min_chars'\]; allowed keys are: .*heading_max_chars"
    ):
        clean.load_rules(path)


def test_rules_bad_pattern_named(tmp_path):
    text = clean.RULES_PATH.read_text(encoding="utf-8").replace(
        "markdown_emphasis: '\\*\\*'", "markdown_emphasis: '(**'"
    )
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"markdown_emphasis.*invalid regular expression"):
        clean.load_rules(path)


def test_not_a_document_is_a_type_error():
    with pytest.raises(TypeError, match="document"):
        clean.clean_document("标题\n\n正文。")  # type: ignore[arg-type]


def test_packaged_rules_file_exists():
    assert Path(clean.RULES_PATH).is_file()
    assert clean.load_rules().heading_max_chars > 0


def test_shuffled_corpus_lines_are_fully_accounted():
    """Property check on 120 seeded collages of corpus lines with random breaks and page-break cuts."""
    lines = [
        ln
        for f in sorted(paths.RAW_DIR.glob("*.txt"))
        for ln in f.read_text("utf-8").split("\n")
        if ln.strip()
    ]
    rng = random.Random(7)
    n_paragraphs = 0
    for _ in range(120):
        parts = []
        for _ in range(rng.randint(1, 40)):
            line = rng.choice(lines)
            if rng.random() < 0.2 and len(line) > 6:
                cut = rng.randrange(1, len(line) - 1)
                line = line[:cut] + "\n" * rng.randint(1, 3) + line[cut:]
            parts.append(line + "\n" * rng.randint(1, 4))
        raw = "".join(parts)
        d = _clean(raw)
        assert clean.account_characters(d) == {"unaccounted": [], "double_counted": []}
        for p in d.paragraphs:
            for sp in p.spans:
                piece = p.text[sp.text_start : sp.text_end]
                assert piece == " " or raw[sp.raw_start : sp.raw_end] == piece
        n_paragraphs += len(d.paragraphs)
    print(f"120 collages, {n_paragraphs} paragraphs: every raw character accounted once")


# --- full-width punctuation and web-page residue (a layout the bundled corpus does not have) ---

WEB_REPORT = Path(__file__).resolve().parent / "data" / "synthetic_web_report.txt"


def test_web_page_report_with_full_width_punctuation():
    raw = WEB_REPORT.read_text(encoding="utf-8")
    doc = clean.clean_document(_doc(raw, "web"))
    assert doc.date == "2021-07-15"
    assert doc.place == "鼓楼区" and doc.city == "福州市"
    assert len(doc.paragraphs) == 3
    body = "".join(p.text for p in doc.paragraphs)
    for residue in ("【", "来源", "分享到", "相关新闻", "责任编辑"):
        assert residue not in body
    assert "，" in body and "," not in body, "full-width punctuation of the source is kept as written"
    kinds = {r.text: r.kind for r in doc.removed}
    assert kinds["【字体：大 中 小】【打印】【关闭】"] == "navigation"
    assert kinds["鼓楼区召开党史学习教育动员大会"] == "navigation"  # a headline listed under 相关新闻
    acc = clean.account_characters(doc)
    assert not acc["unaccounted"] and not acc["double_counted"]


@pytest.mark.parametrize("comma, stop", [("，", "。"), (",", "。")])
def test_page_break_join_with_either_punctuation_width(comma, stop):
    # two commas and no stop: the shape of a parallel heading, but the lead paragraph is never one
    raw = f"标题\n\n本报讯 全区开展学习{comma}扎实推进{comma}发挥烈士\n\n陵园作用{stop}\n"
    doc = clean.clean_document(_doc(raw))
    assert [p.text for p in doc.paragraphs] == [f"全区开展学习{comma}扎实推进{comma}发挥烈士陵园作用{stop}"]
    (join,) = [r for r in doc.repairs if r.kind == "join_split"]
    assert join.after in doc.paragraphs[0].text, "the repair log quotes the output as written"


def test_bare_section_headings_in_blank_line_layout():
    raw = (Path(__file__).resolve().parent / "data" / "synthetic_bare_headings.txt").read_text(encoding="utf-8")
    doc = clean.clean_document(_doc(raw, "bare"))
    assert doc.sections == ("强化组织领导", "丰富学习形式", "办好民生实事")
    assert [p.section_index for p in doc.paragraphs] == [None, 0, 1, 2]
    assert not any(r.kind == "join_split" for r in doc.repairs)
    assert all(p.text.endswith("。") for p in doc.paragraphs)


def test_enumerated_headings_and_bracketed_bylines():
    raw = (Path(__file__).resolve().parent / "data" / "synthetic_numbered_headings.txt").read_text(encoding="utf-8")
    doc = clean.clean_document(_doc(raw, "numbered"))
    assert doc.sections == (
        "一、强化组织领导，压实工作责任",
        "二、创新学习形式，提升学习实效",
        "三、聚焦为民服务，办好民生实事",
    )
    assert doc.authors == ("记者 张三", "通讯员 李四", "责任编辑：王五")
    texts = [p.text for p in doc.paragraphs]
    assert texts[0].startswith("今年以来")  # the bracketed byline is cut off the lead
    assert any(t.startswith("（一）抓好专题学习。") for t in texts)  # a run-in lead stays in its paragraph
    assert not any(r.kind in ("join_split", "truncated_fragment") for r in doc.repairs)
    acc = clean.account_characters(doc)
    assert not acc["unaccounted"] and not acc["double_counted"]


@pytest.mark.parametrize(
    "line, is_heading",
    [("一、强化组织领导", True), ("(二)丰富学习载体", True), ("3.抓实为民服务", True),
     ("1.5万人次参加学习。", False), ("一、强化组织领导。区委成立领导小组。", False), ("十九届六中全会精神", False)],
)
def test_enumerated_heading_shape(line, is_heading):
    assert (clean._enumerator_rank(line, clean.load_rules()) is not None) == is_heading


def test_agency_tag_followed_by_bracketed_byline():
    raw = "某区推进党史学习教育\n\n本报讯（记者 张三 通讯员 李四）今年以来，某区组建宣讲团12个，开展宣讲300余场。\n"
    doc = clean.clean_document(_doc(raw))
    assert doc.authors == ("记者 张三", "通讯员 李四")
    assert [p.text for p in doc.paragraphs] == ["今年以来，某区组建宣讲团12个，开展宣讲300余场。"]
    assert sorted(r.text for r in doc.removed) == sorted(["本报讯", "（", "）"])


def test_end_marker_and_square_bracket_editor_line():
    raw = (Path(__file__).resolve().parent / "data" / "synthetic_end_marker.txt").read_text(encoding="utf-8")
    doc = clean.clean_document(_doc(raw, "misc"))
    assert doc.paragraphs[-1].text == "全县组织党员干部赴革命纪念馆参观学习，累计2.6万人次。"
    assert doc.authors == ("责任编辑：李四",)
    assert {r.text: r.kind for r in doc.removed}["（完）"] == "markup"
    assert not any(r.kind == "truncated_fragment" for r in doc.repairs)
    acc = clean.account_characters(doc)
    assert not acc["unaccounted"] and not acc["double_counted"]


def test_news_portal_layout():
    raw = (Path(__file__).resolve().parent / "data" / "synthetic_portal_report.txt").read_text(encoding="utf-8")
    doc = clean.clean_document(_doc(raw, "portal"))
    assert doc.title == "湖南长沙：党史学习教育“热”在基层"  # a colon and quotes may stand in a title
    assert doc.date == "2021-06-30"  # from the publication line, Chinese date format
    assert (doc.place, doc.city) == ("开福区", "长沙市")
    assert doc.sections == ("学在日常", "干在实处")
    assert doc.authors == ("责编：王丽、刘洋",)
    assert doc.paragraphs[0].text.startswith("今年以来")  # dateline 人民网长沙6月30日电 removed
    kinds = {r.text: r.kind for r in doc.removed}
    assert kinds["人民网长沙6月30日电"] == "byline"
    assert kinds["2021年06月30日08:15  来源：人民网-湖南频道"] == "cms_residue"
    assert not any(r.kind in ("join_split", "truncated_fragment") for r in doc.repairs)


@pytest.mark.parametrize(
    "text, iso", [("2021-06-04", "2021-06-04"), ("2021年6月30日", "2021-06-30"), ("2021/7/1", "2021-07-01"),
                  ("2021年2月30日", None)],
)
def test_iso_date(text, iso):
    assert clean._iso_date(text) == iso


def test_wechat_post_boilerplate():
    raw = (Path(__file__).resolve().parent / "data" / "synthetic_wechat_post.txt").read_text(encoding="utf-8")
    doc = clean.clean_document(_doc(raw, "wechat"))
    assert doc.title == "岳阳楼区：学党史 办实事 践初心"
    assert doc.authors == ("编辑：刘一", "审核：陈二")
    assert len(doc.paragraphs) == 2 and all(p.text.endswith("。") for p in doc.paragraphs)
    kinds = {r.text: r.kind for r in doc.removed}
    assert kinds["点击蓝字 关注我们"] == kinds["长按二维码关注我们"] == kinds["阅读原文"] == "navigation"
    assert not doc.repairs


def test_headline_on_two_lines_before_a_dashed_subtitle():
    raw = "凝心聚力谋发展\n实干担当开新局\n\n——某区党史学习教育综述\n\n本报记者 王某\n\n今年以来，某区组建宣讲队伍20支。\n"
    doc = clean.clean_document(_doc(raw))
    assert (doc.title, doc.subtitle) == ("凝心聚力谋发展 实干担当开新局", "某区党史学习教育综述")
    assert [p.text for p in doc.paragraphs] == ["今年以来，某区组建宣讲队伍20支。"]
    acc = clean.account_characters(doc)
    assert not acc["unaccounted"] and not acc["double_counted"]


def test_line_break_inside_a_sentence_in_newline_layout_is_joined_not_a_heading():
    raw = (
        "某区党史学习教育纪实\n　　今年以来，某区深入开展党史学习教育，发挥烈士\n陵园等红色资源作用，组织参观学习3000余人次。\n"
        "　　强化组织保障\n　　区委成立领导小组，制定实施方案。\n　　丰富学习载体\n　　全区开展专题学习200余场。\n"
    )
    doc = clean.clean_document(_doc(raw))
    assert doc.sections == ("强化组织保障", "丰富学习载体")
    assert doc.paragraphs[0].text == "今年以来，某区深入开展党史学习教育，发挥烈士陵园等红色资源作用，组织参观学习3000余人次。"


@pytest.mark.parametrize(
    "line, is_heading",
    [("突出学习感悟,做好“七个一”,让党员干部动起来", True), ("今年以来，某区深入开展党史学习教育，发挥烈士", False)],
)
def test_parallel_heading_needs_phrases_of_like_length(line, is_heading):
    assert clean._is_heading_shape(line, clean.load_rules(), allow_bare=False) == is_heading
