"""Tests of analysis.metrics: invented sentences of the genre, and the gold oracle on the project pipeline."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from analysis import metrics
from analysis.paths import PROJECT_ROOT, RAW_DIR
from analysis.records import Paragraph, Span

GOLD = PROJECT_ROOT.parent / "shared" / "gold"


def para(text: str, raw_start: int = 0, doc_id: str = "t") -> Paragraph:
    return Paragraph(f"{doc_id}:p000", doc_id, 0, text, (Span(0, raw_start, len(text)),))


def rows(text: str) -> list[tuple]:
    return [
        (m.surface, str(m.value), m.unit, m.qualifier, m.is_rate)
        for m in metrics.extract_metric_mentions([para(text)])
    ]


def reasons(text: str) -> dict[str, str]:
    return {x.surface: x.reason for x in metrics.extract_excluded_numbers([para(text)])}


def test_chain_and_qualifiers():
    got = rows("某县组建12个宣讲队、98名宣讲员,开展宣讲800余场,受众8万余人次。")
    assert got == [
        ("12个", "12", "个", "exact", False),
        ("98名", "98", "名", "exact", False),
        ("800余场", "800", "场", "more_than", False),
        ("8万余人次", "80000", "人次", "more_than", False),
    ]


def test_number_after_noun_and_prefix_qualifiers():
    got = rows("设立便民服务点23个,慰问困难群众近5000人,发放物资约36万元,走访超2000余户。")
    assert got == [
        ("23个", "23", "个", "exact", False),
        ("近5000人", "5000", "人", "nearly", False),
        ("约36万元", "360000", "元", "about", False),
        ("超2000余户", "2000", "户", "more_than", False),
    ]


def test_suffix_qualifiers_after_unit_and_at_least():
    got = rows("每名干部每季度撰写心得10篇以上,每个支部每周至少开展学习1次。")
    assert got == [("10篇以上", "10", "篇", "more_than", True), ("1次", "1", "次", "more_than", True)]


def test_rates_and_totals():
    got = rows("镇里每月放映红色电影6场,全年累计放映300多场。")
    assert got == [("6场", "6", "场", "exact", True), ("300多场", "300", "场", "more_than", False)]


def test_money_scaling():
    got = rows("投入资金3.5亿元,其中财政补助8600万元。")
    assert got == [
        ("3.5亿元", "350000000", "元", "exact", False),
        ("8600万元", "86000000", "元", "exact", False),
    ]


def test_chinese_numerals_and_articles():
    got = rows("区委召开两次专题会议,这是一个缩影,作为一名党员要一次次深入基层,二十多次走访。")
    assert got == [("两次", "2", "次", "exact", False), ("二十多次", "20", "次", "more_than", False)]


def test_one_as_quota():
    got = rows("每名科级干部可以领办一件实事。")
    assert got == [("一件", "1", "件", "exact", True)]


@pytest.mark.parametrize(
    ("text", "surface", "reason"),
    [
        ("2022年4月8日召开动员会。", "2022年4月8日", "date"),
        ("4月8日召开动员会。", "4月8日", "date"),
        ("2022年是关键之年。", "2022年", "period"),
        ("2-6月份共开展活动。", "2-6月份", "period"),
        ("编写《县志(1949—1999)》。", "1949—1999", "period"),
        ("学习“十四五”规划。", "十四五", "period"),
        ("庆祝建党100周年。", "100周年", "anniversary"),
        ("为3~6岁儿童接种。", "3~6岁", "age"),
        ("开通48小时热线。", "48小时", "duration"),
        ("在县委第二巡回指导组指导下。", "第二", "ordinal"),
        ("请继续阅读B3~4版。", "B3~4版", "page_ref"),
        ("网址http://10.0.0.1:8080/a_123.html", "10.0.0.1", "identifier"),
        ("落实“两学一做”要求。", "两学一做", "formulation"),
        ("推行“一村一策”机制。", "一村一策", "formulation"),
        ("开展“六个一”活动。", "六个一", "formulation"),
        ("开展“千名干部进万家”活动。", "千名", "name"),
        ("观看电影《1949》。", "1949", "name"),
        ("驻京某部队38军官兵。", "38", "name"),
    ],
)
def test_exclusion_reasons(text, surface, reason):
    got = reasons(text)
    assert got.get(surface) == reason, got
    assert not rows(text)


def test_formulation_spell_out_is_not_a_rate_metric():
    text = "做好“三个一”(每月读一本书、每周看一部电影、每天学一个故事),推动学习。"
    assert rows(text) == []
    assert set(reasons(text).values()) == {"formulation"}


def test_lexicalised_words_are_not_listed():
    text = "进一步统一思想,深入一线,服务千家万户百姓。"
    assert rows(text) == [] and reasons(text) == {}


def test_offsets_map_to_raw_and_straddling_join():
    raw = "xx\n开展宣讲120场,覆盖3\n\n500人次。"
    a, b = "开展宣讲120场,覆盖3", "500人次。"
    p = Paragraph("t:p000", "t", 0, a + b, (Span(0, 3, len(a)), Span(len(a), raw.index(b), len(b))))
    ms = list(metrics.extract_metric_mentions([p]))
    assert [m.surface for m in ms] == ["120场", "3500人次"]
    assert raw[ms[0].start : ms[0].end] == "120场"
    # the straddling surface gets a raw span from its first to its last character
    assert raw[ms[1].start : ms[1].end].replace("\n", "") == "3500人次"


def test_str_input_is_rejected():
    with pytest.raises(TypeError, match="iterable of records.Paragraph"):
        list(metrics.extract_metric_mentions("开展宣讲120场"))  # type: ignore[arg-type]


def test_frame_columns_and_formats():
    df = metrics.mentions_to_frame(metrics.extract_metric_mentions([para("拨付资金1.2万元,宣讲5场。")]))
    assert list(df.columns[: len(metrics.METRIC_COLUMNS)]) == metrics.METRIC_COLUMNS
    assert df["value"].tolist() == ["12000", "5"]


def _score_module():
    sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
    import score_metrics  # noqa: PLC0415

    return score_metrics


def _pipeline_frames(name: str = "bundled"):
    score_metrics = _score_module()
    text_dir, gold_dir = score_metrics.SETS[name]
    doc_ids = sorted(p.stem for p in text_dir.glob("*.txt"))
    pred = score_metrics.predict(text_dir, doc_ids, "pipeline")
    gold = pd.read_csv(gold_dir / "metrics.csv", dtype={"value": str}, keep_default_na=False)
    non = pd.read_csv(gold_dir / "non_metrics.csv", keep_default_na=False)
    return score_metrics.score(pred, gold, non, verbose=False), pred


@pytest.mark.skipif(not (GOLD / "metrics.csv").exists(), reason="../shared/gold not beside the repo")
def test_against_gold_on_the_pipeline():
    res, pred = _pipeline_frames()
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in res.items()})
    assert res["precision"] >= 0.95
    assert res["recall"] >= 0.95
    assert res["qualifier_accuracy"] >= 0.95
    assert res["category_accuracy"] >= 0.85
    assert res["non_metric_reported_rate"] <= 0.03
    # every surface links back to the raw text where it does not straddle a join
    for doc_id, g in pred.groupby("doc_id"):
        raw = (RAW_DIR / f"{doc_id}.txt").read_text(encoding="utf-8")
        ok = sum(raw[s:e] == t for s, e, t in zip(g["start"], g["end"], g["surface"], strict=True))
        assert ok >= len(g) - 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("强降雨期间,该镇设立临时安置点9个,转移安置群众3200人。", ["emergency", "emergency"]),
        ("疫情防控中,抽调干部40名开展流调排查。", ["emergency"]),
        ("全镇开展宣讲60场,受众4000人次。", ["outreach", "audience"]),
        ("收集群众意见建议300余条,办结实事项目25项。", ["service", "service"]),
    ],
)
def test_categories_follow_lexicon_cues(text, expected):
    assert [m.category for m in metrics.extract_metric_mentions([para(text)])] == expected


def test_elided_noun_takes_its_antecedent():
    got = [(m.surface, m.counted) for m in metrics.extract_metric_mentions([para("全镇梳理民生项目45项,已完成30项。")])]
    assert got == [("45项", "民生项目"), ("30项", "民生项目")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("全县三千余名党员到社区报到,开展志愿服务。", ["service"]),
        ("走访慰问老党员、困难党员420户。", ["service"]),
    ],
)
def test_party_members_in_an_activity_are_not_the_membership(text, expected):
    assert [m.category for m in metrics.extract_metric_mentions([para(text)])] == expected


@pytest.mark.parametrize(
    "text, surface, reason",
    [("咨询电话0730-1234567。", "0730-1234567", "identifier"), ("热线400-123-4567。", "400-123-4567", "identifier")],
)
def test_telephone_numbers_are_identifiers(text, surface, reason):
    assert reasons(text) == {surface: reason}
    assert rows(text) == []


def test_investment_is_economy():
    assert [m.category for m in metrics.extract_metric_mentions([para("第1季度完成投资5.6亿元,同比增长12.3%。")])] == [
        "economy",
        "economy",
    ]


@pytest.mark.parametrize(
    "text, counted",
    [("决赛时观众有2000多人。", "决赛时观众"), ("各单位工作人员累计3000余人。", "工作人员"), ("16支队伍参赛。", "队伍")],
)
def test_counted_noun_without_trailing_verbs(text, counted):
    assert [m.counted for m in metrics.extract_metric_mentions([para(text)])] == [counted]


def test_quoted_activity_before_the_number_is_counted():
    (m,) = metrics.extract_metric_mentions([para("各级党组织开展“主题党日”活动3200余次。")])
    assert m.counted in ("主题党日", "活动")
    (m,) = metrics.extract_metric_mentions([para("各级党组织开展“主题党日”3200余次。")])
    assert m.counted == "主题党日"


def test_metrics_in_title_and_headings_are_extracted_with_raw_offsets(tmp_path):
    from analysis import clean, ingest

    raw = (
        "　　全区开展党史宣讲1200余场 覆盖群众5万余人次\n"
        "　　（记者 张三）今年以来，某区扎实推进党史学习教育，组建宣讲团15个。\n"
        "　　一、300余名党员深入社区办实事\n"
        "　　全区梳理民生实事清单120项，已办结98项。\n"
        "　　二、坚持“三会一课” 落实“七个一”\n"
        "　　各级党组织举办读书班85期。\n"
    )
    path = tmp_path / "headline_counts.txt"
    path.write_text(raw, encoding="utf-8")
    doc = clean.clean_document(ingest.read_document(path))
    assert "1200余场" in doc.title and any("300余名" in s for s in doc.sections)
    mentions = metrics.mentions_from_document(doc)
    surfaces = [m.surface for m in mentions]
    assert surfaces[:2] == ["1200余场", "5万余人次"]  # the headline's claims, first in raw order
    assert "300余名" in surfaces  # a section heading's claim
    assert "15个" in surfaces and "85期" in surfaces  # body paragraphs as before
    text = ingest.read_document(path).raw_text
    assert all(text[m.start:m.end] == m.surface for m in mentions)
    assert [m.start for m in mentions] == sorted(m.start for m in mentions)
    heading_ids = {m.para_id for m in mentions if not m.para_id.split(":")[-1].startswith("p")}
    assert heading_ids == {f"{doc.doc_id}:title", f"{doc.doc_id}:h00"}
    # the formulations of the second heading are not metrics
    assert not any(s in ("三会", "七个") for s in surfaces)
    body_only = [m.surface for m in metrics.mentions_from_document(doc, headings=False)]
    assert "1200余场" not in body_only and "300余名" not in body_only and "15个" in body_only


def test_financial_numerals_inside_ordinary_words_are_not_numbers():
    # 伍, 陆, 拾 are also ordinary characters: 队伍12支 counts 12 teams, not 伍12.
    text = "组建志愿服务队伍12支，退伍军人56名参加，陆续开展活动，收拾垃圾3吨。"
    p = Paragraph(para_id="x:p000", doc_id="x", index=0, text=text, spans=(Span(0, 0, len(text)),))
    found = [(m.surface, str(m.value)) for m in metrics.extract_metric_mentions([p])]
    assert found == [("12支", "12"), ("56名", "56"), ("3吨", "3")]
    assert list(metrics.extract_excluded_numbers([p])) == []  # nor listed as non-metrics


def test_shang_qualifies_only_a_bare_magnitude():
    # 上千人次 = a thousand or more; 上 before a written number (线上1200人次, 会上3名) is not a qualifier.
    text = "上千人次参与，上万名群众观看，上百场活动。成千上万的群众，线上1200人次观看，会上3名代表发言。"
    p = Paragraph(para_id="x:p000", doc_id="x", index=0, text=text, spans=(Span(0, 0, len(text)),))
    found = [(m.surface, str(m.value), m.qualifier) for m in metrics.extract_metric_mentions([p])]
    assert found == [
        ("上千人次", "1000", "more_than"),
        ("上万名", "10000", "more_than"),
        ("上百场", "100", "more_than"),
        ("1200人次", "1200", "exact"),
        ("3名", "3", "exact"),
    ]


def test_category_definitions_cover_every_category_once(tmp_path):
    df = metrics.category_definitions()
    assert list(df.columns) == ["category", "definition"]
    assert list(df["category"]) == [*metrics.METRIC_CATEGORIES]
    assert df["category"].iloc[-1] == metrics.FALLBACK_CATEGORY == "other"
    assert df["definition"].str.len().min() > 20
    assert not df["definition"].str.contains("\n").any()
    bad = tmp_path / "m.yml"
    bad.write_text("category_definitions:\n  study: learning\n", encoding="utf-8")
    with pytest.raises(metrics.InputError, match="no definition"):
        metrics.category_definitions(bad)


# ---------------------------------------------------------------- issue 14: unseen web text
EXTRA_TEXTS = PROJECT_ROOT.parent / "shared" / "corpus_extra"
EXTRA_GOLD = PROJECT_ROOT / "tests" / "data" / "extra_gold"


def mentions(text: str) -> list[metrics.MetricMention]:
    return list(metrics.extract_metric_mentions([para(text)]))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("全镇组建 17 个宣讲队,走访群众 2790 户。", [("17 个", "17", "个"), ("2790 户", "2790", "户")]),
        ("共发放宣传资料1.2万份,受众 3000 人次;开展宣讲60场。", [("1.2万份", "12000", "份"), ("3000 人次", "3000", "人次"), ("60场", "60", "场")]),
        ("截至目前,已完成 15 项,办结率 93.5% 。", [("15 项", "15", "项"), ("93.5%", "93.5", "%")]),
    ],
)
def test_space_between_number_and_unit(text, expected):
    assert [(m.surface, str(m.value), m.unit) for m in mentions(text)] == expected


def test_spaced_dates_and_mixed_punctuation_are_not_metrics():
    text = "12 月 22 日,该县召开推进会(第 3 次),共梳理问题 20 个;2021 年 5 月 8 日完成整改。"
    assert [(m.surface, m.unit) for m in mentions(text)] == [("20 个", "个")]
    got = reasons(text)
    assert got.get("12 月 22 日") == "date"
    assert got.get("2021 年 5 月 8 日") == "date"


def test_number_missing_on_a_mirror_site_gives_no_invented_value():
    text = "明确列出包含30大类、小项的项目清单,对全县个部门单位精准指导,刊载学习稿件篇,点击量超万次。"
    got = [(m.surface, str(m.value), m.unit) for m in mentions(text)]
    assert ("30大类", "30", "大类") in got
    assert all(m.unit not in ("小项",) for m in mentions(text))
    assert not any(s.startswith(("个部门", "篇")) for s, _, _ in got)


@pytest.mark.parametrize(
    "text, counted, not_counted",
    [
        ("今年新增停车位120个,方便群众出行。", "停车位", "增停车位"),
        ("开展重点调研指导5次。", "重点调研指导", "点调研指导"),
        ("全县260个基层党组织同频共振开展活动。", "基层党组织", "基层党组织同频"),
        ("新建日间照料中心1个。", "日间照料中心", "日间照料"),
        ("目前已完成66个车位划定工作。", "车位", "车位划定工作"),
    ],
)
def test_counted_object_follows_word_boundaries(text, counted, not_counted):
    got = [m.counted for m in mentions(text)]
    assert got == [counted]
    assert not_counted not in got


@pytest.mark.parametrize(
    "text, expected",
    [
        ("区委召开专题会议12次,研究部署重点工作。", "organization"),
        ("推出100余场内容丰富、形式多样的群众性活动。", "outreach"),
        ("党员志愿者开展学雷锋志愿服务活动8411件。", "service"),
        ("完成5家街道文化站建设,受众约5000人次。", "service"),
        ("全县完成地区生产总值120亿元。", "economy"),
    ],
)
def test_category_follows_the_counted_object(text, expected):
    assert mentions(text)[0].category == expected


def test_campaign_name_is_no_study_cue_and_fallback_is_other():
    # nothing but the campaign's name around the number: no category is claimed
    got = mentions("党史学习教育开展以来,该乡购置设备30台。")
    assert [(m.surface, m.category) for m in got] == [("30台", "other")]
    assert "other" in metrics.METRIC_CATEGORIES


def test_lengths_of_things_and_capacities_in_names_are_not_counts():
    text = "隔着40米宽的河,安装8米高太阳能路灯84盏,推进70万吨新材料产业基地项目建设,修建道路1100米。"
    assert [m.surface for m in mentions(text)] == ["84盏", "1100米"]
    assert reasons(text)["70万吨"] == "name"


def test_spelled_out_items_of_a_numbered_formulation():
    text = "开展“五个一”活动,“五个一”即:每人讲一个党史故事;每名党员为群众办一件实事;每个党组织确定一个事项。全年办实事300件。"
    assert [m.surface for m in mentions(text)] == ["300件"]
    assert list(reasons(text).values()).count("formulation") >= 3


def test_explain_names_a_rule_for_every_mention(tmp_path):
    from analysis import clean, ingest  # noqa: PLC0415

    raw = tmp_path / "x.txt"
    raw.write_text("某县开展宣讲活动\n\n全县组建17个宣讲团,宣讲1000余场,受众10万余人次。购置设备30台。\n", encoding="utf-8")
    df = metrics.explain_document(clean.clean_document(ingest.read_document(raw)))
    assert list(df.columns[-2:]) == metrics.EXPLAIN_COLUMNS
    assert df["category_rule"].str.len().min() > 0 and df["counted_rule"].str.len().min() > 0
    rule = dict(zip(df["surface"], df["category_rule"], strict=True))
    assert rule["30台"].startswith(("fallback:", "paragraph:", "document:"))  # no cue in its sentence
    assert rule["17个"].startswith("counted:")


def test_cli_explain_and_default_columns(tmp_path, capsys):
    from analysis.__main__ import main  # noqa: PLC0415

    raw = tmp_path / "x.txt"
    raw.write_text("全县组建17个宣讲团,宣讲1000余场。\n", encoding="utf-8")
    assert main(["metrics", str(raw), "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.split(",") == metrics.METRIC_COLUMNS
    assert main(["metrics", str(raw), "--format", "csv", "--explain"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split(",") == metrics.METRIC_COLUMNS + metrics.EXPLAIN_COLUMNS
    assert len(out) == 3


def _development_texts() -> dict[str, str]:
    dirs = [RAW_DIR, EXTRA_TEXTS]
    return {p.stem: p.read_text(encoding="utf-8") for d in dirs if d.exists() for p in sorted(d.glob("*.txt"))}


@pytest.mark.skipif(not EXTRA_TEXTS.exists(), reason="../shared/corpus_extra not beside the repo")
def test_category_cue_words_are_general():
    lex = metrics.load_metric_lexicon()
    texts = _development_texts()
    assert len(texts) >= 25
    rare = {
        w
        for cues in lex.category_cues.values()
        for w in cues
        if sum(w in t for t in texts.values()) < 2 and w not in lex.general_cue_words
    }
    assert not rare, f"cue words seen in fewer than two documents and not listed as general terms: {sorted(rare)}"
    # the general-term list holds cue words only (no stray entries)
    every_cue = {w for cues in lex.category_cues.values() for w in cues}
    assert lex.general_cue_words <= every_cue


@pytest.mark.skipif(not EXTRA_TEXTS.exists(), reason="../shared/corpus_extra not beside the repo")
def test_lexicon_names_no_place_and_quotes_no_sentence():
    import csv  # noqa: PLC0415

    import yaml  # noqa: PLC0415

    data = yaml.safe_load((metrics.DEFAULT_LEXICON_PATH).read_text(encoding="utf-8"))
    words: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and node and not node.isascii():
            words.append(node)

    walk({k: v for k, v in data.items() if k != "category_definitions"})
    places: set[str] = set()
    for manifest in (RAW_DIR / "manifest.csv", EXTRA_TEXTS / "manifest.csv"):
        if manifest.exists():
            for row in csv.DictReader(manifest.open(encoding="utf-8")):
                for key in ("place", "city"):
                    name = (row.get(key) or "").strip()
                    if len(name) >= 3:
                        places.add(name[:-1])  # 云岩区 -> 云岩, 郑州市 -> 郑州
    assert places
    assert not [w for w in words if any(p in w for p in places)]
    long_words = [w for w in words if len(w) >= 8]
    for doc_id, text in _development_texts().items():
        assert not [w for w in long_words if w in text], doc_id


@pytest.mark.skipif(not EXTRA_TEXTS.exists(), reason="../shared/corpus_extra not beside the repo")
def test_against_extra_gold_unseen_text():
    res, _pred = _pipeline_frames("extra")
    assert res["f1"] >= 0.95
    assert res["category_accuracy"] >= 0.85
    assert res["non_metric_reported_rate"] <= 0.03
    assert res["counted_overlap_accuracy"] >= 0.85


def test_extra_gold_is_consistent():
    from pathlib import Path  # noqa: PLC0415

    gold = pd.read_csv(EXTRA_GOLD / "metrics.csv", dtype={"value": str}, keep_default_na=False)
    non = pd.read_csv(EXTRA_GOLD / "non_metrics.csv", keep_default_na=False)
    assert set(gold["category"]) <= set(metrics.METRIC_CATEGORIES)
    assert set(non["reason"]) <= set(metrics.EXCLUSION_REASONS)
    assert set(gold["qualifier"]) <= {"exact", "more_than", "nearly", "about"}
    if EXTRA_TEXTS.exists():
        for frame in (gold, non):
            for doc_id, s, e, surface in frame[["doc_id", "start", "end", "surface"]].itertuples(index=False):
                text = Path(EXTRA_TEXTS / f"{doc_id}.txt").read_text(encoding="utf-8")
                assert text[s:e] == surface


@pytest.mark.parametrize(
    "text, expected",
    [
        ("全县共有基层党组织1200个、党员3.5万名。", ["基层党组织", "党员"]),
        ("累计发放宣传册 5000 份,举办培训班 12 期。", ["宣传册", "培训班"]),
    ],
)
def test_counted_noun_before_a_number_in_a_list_or_after_a_space(text, expected):
    assert [m.counted for m in mentions(text)] == expected


def test_spaced_qualifiers_and_participants():
    got = [(m.surface, str(m.value), m.qualifier, m.category) for m in mentions("参与群众约 500 人,收集问题 30 余个。")]
    assert got == [("约 500 人", "500", "about", "audience"), ("30 余个", "30", "more_than", "service")]


def test_ascii_quotes_of_web_text_mark_names_and_formulations():
    text = '开展"百名书记讲党史"活动,宣讲120场,开展"三会一课"86次。'
    assert [(m.surface, m.counted, m.category) for m in mentions(text)] == [
        ("120场", "宣讲", "outreach"),
        ("86次", "三会一课", "study"),
    ]
    assert reasons(text)["百名"] == "name"


def test_one_pass_gives_both_extractions_and_maps_over_processes(clean_corpus_bundled):
    """extract_numbers = extract_metric_mentions + extract_excluded_numbers, also per document over 2 processes."""
    from analysis import parallel

    records = [p for d in clean_corpus_bundled.documents for p in (*d.paragraphs, *d.heading_paragraphs())]
    both = metrics.extract_numbers(records)
    assert both[0] == list(metrics.extract_metric_mentions(records))
    assert both[1] == list(metrics.extract_excluded_numbers(records))
    assert len(both[0]) > 50 and len(both[1]) > 10
    groups = metrics.paragraphs_by_document(records)
    assert [g[0].doc_id for g in groups] == sorted({p.doc_id for p in records})
    results = list(parallel.map_ordered(metrics.extract_numbers, groups, jobs=2, batch_size=1))
    mentions = metrics.mentions_to_frame(m for found, _ in results for m in found)
    excluded = metrics.excluded_to_frame(x for _, left_out in results for x in left_out)
    assert mentions.equals(metrics.mentions_to_frame(both[0]))
    assert excluded.equals(metrics.excluded_to_frame(both[1]))
