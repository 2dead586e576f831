"""Compare article extractors on news pages of the genre: which one ``webtext`` should use.

Pages: every bundled report (data/raw) and every report of ../shared/corpus_extra
(read from there, not copied), each laid out as a government-site page, a
portal page, a WeChat repost and a table-layout county site in GB2312
(``html_pages.py``): 25 reports x 4 layouts.

Extractors, each given the page and returning (title, text blocks):

- ``trafilatura``: what ``analysis.webtext`` uses (``extract_page``: trafilatura,
  then link-only blocks dropped and one block per paragraph/cell/line break);
- ``trafilatura_text``: trafilatura's own text output, default settings;
- ``trafilatura_recall``: the same with ``favor_recall=True``;
- ``readability``: readability-lxml's ``Document.summary()``, blocks = the
  block elements of the summary;
- ``selectolax``: a density heuristic on selectolax's Lexbor parser (drop
  script/style/nav/header/footer/aside, take the element whose direct ``<p>``
  children hold the most text), what one would write without an extractor.

Per extractor: body recall (share of the report's lines found as a block),
boilerplate leaked (share of the layout's boilerplate snippets found in the
text), pages whose metric mentions (value, unit) after cleaning equal those
of the plain-text report, title exact, and milliseconds per page.

readability-lxml and selectolax are not project dependencies; install them
beside the venv to rerun the comparison, e.g.
``.venv/bin/pip install --target /tmp/benchx --no-deps readability-lxml==0.9 selectolax==1.0.2 cssselect chardet``
and run with ``PYTHONPATH=/tmp/benchx``. A missing one is reported and skipped.

Run: ``.venv/bin/python benchmarks/bench_html_extraction.py``
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import html_pages  # noqa: E402
from analysis import clean, ingest, metrics, paths  # noqa: E402
from analysis.records import Document  # noqa: E402

EXTRA_DIR = paths.PROJECT_ROOT.parent / "shared" / "corpus_extra"
_BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "blockquote", "pre")


def _norm(line: str) -> str:
    return " ".join(line.split())


def ex_trafilatura(page: str):
    from analysis import webtext

    r = webtext.extract_page(page)
    blocks = r.text.split("\n\n")
    return r.title, [b.strip() for b in blocks[1:] if b.strip()] if blocks[0].strip() == r.title else blocks


def ex_trafilatura_text(page: str):
    """trafilatura's own text output (what webtext would give without its link-block filter and block reader)."""
    import trafilatura

    r = trafilatura.bare_extraction(page, include_comments=False, with_metadata=True, deduplicate=False)
    return (r.title if r else None), [_norm(x) for x in (r.text if r else "").split("\n") if x.strip()]


def ex_trafilatura_recall(page: str):
    import trafilatura

    r = trafilatura.bare_extraction(page, favor_recall=True, include_comments=False, with_metadata=True, deduplicate=False)
    return (r.title if r else None), [_norm(x) for x in (r.text if r else "").split("\n") if x.strip()]


def ex_readability(page: str):
    import lxml.html
    from readability import Document as RDocument

    doc = RDocument(page)
    summary = lxml.html.fromstring(doc.summary(html_partial=True))
    blocks = [_norm(el.text_content()) for el in summary.iter(*_BLOCK_TAGS)]
    return doc.short_title(), [b for b in blocks if b]


def ex_selectolax(page: str):
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(page)
    tree.strip_tags(["script", "style", "nav", "header", "footer", "aside", "noscript", "form"])
    best, best_len = None, 0
    for node in tree.css("div, article, section, td"):
        n = sum(len(p.text(strip=True)) for p in node.iter() if p.tag == "p")
        if n > best_len:
            best, best_len = node, n
    h1 = tree.css_first("h1")
    title = h1.text(strip=True) if h1 else (tree.css_first("title").text(strip=True) if tree.css_first("title") else None)
    if best is None:
        return title, []
    blocks = [_norm(el.text(separator="")) for el in best.css(",".join(_BLOCK_TAGS))]
    return title, [b for b in blocks if b]


EXTRACTORS = {
    "trafilatura": ex_trafilatura,
    "trafilatura_text": ex_trafilatura_text,
    "trafilatura_recall": ex_trafilatura_recall,
    "readability": ex_readability,
    "selectolax": ex_selectolax,
}


def _mentions(document: Document, rules) -> Counter:
    doc = clean.clean_document(document, rules=rules)
    return Counter((str(m.value), m.unit) for m in metrics.mentions_from_document(doc))


def reports() -> list[tuple[str, Path]]:
    files = [("bundled", p) for p in sorted(paths.RAW_DIR.glob("*.txt"))]
    if EXTRA_DIR.is_dir():
        files += [("extra", p) for p in sorted(EXTRA_DIR.glob("*.txt"))]
    return files


def main() -> None:
    rules = clean.load_rules()
    available = {}
    for name, fn in EXTRACTORS.items():
        try:
            fn("<html><body><p>测试</p></body></html>")
            available[name] = fn
        except ImportError as exc:
            print(f"{name}: not installed ({exc}); skipped")
        except Exception:  # noqa: BLE001 - an extractor may refuse a tiny page; it is still installed
            available[name] = fn
    stats = {name: Counter() for name in available}
    n_pages = 0
    for _, path in reports():
        document = ingest.read_document(path)
        cleaned = clean.clean_document(document, rules=rules)
        plain = _mentions(document, rules)
        for layout in html_pages.LAYOUTS:
            page = html_pages.build_page(
                document.raw_text, layout, place=cleaned.place or "本区", title=cleaned.title or f"{cleaned.place or '本区'}党史学习教育工作动态", date="2021-06-04"
            )
            n_pages += 1
            for name, fn in available.items():
                s = stats[name]
                t0 = time.perf_counter()
                try:
                    title, blocks = fn(page.html)
                except Exception as exc:  # noqa: BLE001 - a failing extractor counts as losing the page
                    title, blocks = None, []
                    s["errors"] += 1
                    print(f"{name} failed on {path.name} ({layout}): {exc}")
                s["ms"] += (time.perf_counter() - t0) * 1000
                found = {_norm(b) for b in blocks}
                text = "\n".join(blocks)
                s["body_lines"] += len(page.body_lines)
                s["body_found"] += sum(_norm(line) in found for line in page.body_lines)
                s["boiler"] += len(page.boilerplate)
                leaked = sum(b in text for b in page.boilerplate)
                s["boiler_leaked"] += leaked
                s[f"leaked_{layout}"] += leaked
                s[f"boiler_{layout}"] += len(page.boilerplate)
                s["title_ok"] += title is not None and _norm(title) == _norm(page.title)
                if blocks:
                    head = [page.title] if not blocks or _norm(blocks[0]) != _norm(page.title) else []
                    extracted = "\n\n".join(head + blocks) + "\n"
                    doc = Document(doc_id=document.doc_id, source_path="page.html", encoding="utf-8", raw_text=extracted)
                    s["metrics_same"] += _mentions(doc, rules) == plain
    print(f"\n{n_pages} pages ({n_pages // len(html_pages.LAYOUTS)} reports x {len(html_pages.LAYOUTS)} layouts)\n")
    print("| extractor | body recall | boilerplate leaked | pages with the plain text's metric mentions | title exact | ms/page |")
    print("|---|---|---|---|---|---|")
    for name, s in stats.items():
        print(
            f"| {name} | {s['body_found'] / s['body_lines']:.3f} | {s['boiler_leaked'] / s['boiler']:.3f} | "
            f"{s['metrics_same']}/{n_pages} | {s['title_ok']}/{n_pages} | {s['ms'] / n_pages:.1f} |"
        )
    print("\nBoilerplate leaked, by layout (WeChat's follow prompts and editor lines sit inside the article's own element)\n")
    print("| extractor | " + " | ".join(html_pages.LAYOUTS) + " |")
    print("|---|" + "---|" * len(html_pages.LAYOUTS))
    for name, s in stats.items():
        cells = [f"{s[f'leaked_{lay}'] / s[f'boiler_{lay}']:.3f}" for lay in html_pages.LAYOUTS]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
