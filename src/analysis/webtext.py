"""Extract the article text and metadata of a saved news page (HTML) for ``ingest``.

A report scraped from a government site, a portal or a WeChat repost arrives
as a whole page: navigation, breadcrumbs, share bars, related links, comment
boxes, footers (with telephone and ICP numbers) and scripts around the
article. :func:`extract_page` keeps the article with trafilatura (chosen by a
measured comparison with readability-lxml and a selectolax heuristic on pages
of this genre: ``benchmarks/html_extraction.md``) and reads the title, date,
site and author from the page.

The extracted text
------------------
:func:`extract_page` returns the article as plain text in the shape of a
bundled report: the title on the first line, then each paragraph, heading or
list item the extractor found, separated by a blank line. That text is the
document's ``raw_text`` (``records.Document``): every offset downstream
(paragraph spans, metric mentions, removals) counts code points of it, not of
the HTML. ``corpus.write_corpus_tables`` writes it to
``data/processed/extracted/<doc_id>.txt`` so that the offsets can be checked
against a file; the HTML itself stays where it was (``data/raw`` or the JSON
Lines file).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .errors import InputError

__all__ = [
    "HTML_SUFFIXES",
    "PageText",
    "looks_like_html",
    "html_charset",
    "extract_page",
]

#: File suffixes read as web pages (a ``.txt`` is read as one when its content is HTML).
HTML_SUFFIXES = (".html", ".htm")
#: Characters at the start of a text that are searched for an HTML document's opening.
SNIFF_CHARS = 2048
#: Share of a text's characters inside tags above which a text without <html>/<body> is taken as HTML.
MIN_MARKUP_SHARE = 0.2
#: Share of a block's letters and digits inside links from which the block is navigation (a menu,
#: a related-links list, a sidebar of headlines) and is dropped, e.g. a table-layout site's menu cell.
MIN_LINK_SHARE = 0.8
#: trafilatura's output elements that hold text (its XML: p, head, item, cell, quote, ...).
_TEXT_BLOCKS = ("p", "head", "item", "cell", "quote", "code", "lb")
#: Latest publication date the date extractor accepts (fixed, so that reruns do not depend on today).
MAX_PAGE_DATE = "2100-01-01"

_RE_HTML_START = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>])", re.I | re.S)
_RE_BODY_TAG = re.compile(r"<(?:body|p|div|article|section)[\s>]", re.I)
_RE_TAG = re.compile(r"<[^<>]{1,400}>")
_RE_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "x-gbk"}
_RE_SPACE = re.compile(r"[ \t\u00a0\u3000]+")
_RE_ISO_DATE = re.compile(r"((?:19|20)\d{2})[-/年.](\d{1,2})[-/月.](\d{1,2})")

# <meta> names that Chinese government sites (the national site specification), portals,
# and WeChat pages use for what trafilatura's generic metadata reader may miss.
_META_TITLE = ("ArticleTitle", "og:title", "twitter:title")
_META_DATE = ("PubDate", "publishdate", "article:published_time", "og:article:published_time", "pubdate")
_META_SITE = ("SiteName", "og:site_name", "ContentSource", "source")
_META_AUTHOR = ("Author", "author", "og:article:author", "article:author")


@dataclass(frozen=True, slots=True)
class PageText:
    """The article of a page as plain text, and the page's metadata.

    ``text`` is the offset reference of the document (see the module
    docstring); ``title``, ``date`` (ISO), ``site``, ``author`` and ``url`` are
    ``None`` when the page does not give them.
    """

    text: str
    title: str | None
    date: str | None
    site: str | None
    author: str | None
    url: str | None
    n_blocks: int


def looks_like_html(text: str) -> bool:
    """True when ``text`` is an HTML page (or a fragment that is mostly markup), not a plain report.

    Examples
    --------
    >>> looks_like_html("<!DOCTYPE html><html><body><p>全区宣讲50场。</p></body></html>")
    True
    >>> looks_like_html("全区宣讲50场,<b>受众</b>1万人次。")
    False
    """
    head = text[:SNIFF_CHARS]
    if _RE_HTML_START.match(head):
        return True
    if not _RE_BODY_TAG.search(head):
        return False
    markup = sum(len(m.group(0)) for m in _RE_TAG.finditer(head))
    return markup >= MIN_MARKUP_SHARE * len(head.strip())


def html_charset(data: bytes) -> str | None:
    """The charset a page declares in ``<meta charset>`` / ``http-equiv`` (GB family read as GB18030), or None."""
    m = _RE_CHARSET.search(data[:SNIFF_CHARS * 2])
    if not m:
        return None
    name = m.group(1).decode("ascii").lower()
    if name in _GB_FAMILY:
        return "gb18030"
    import codecs

    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _letters(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def _drop_link_blocks(body) -> int:  # noqa: ANN001 - lxml element (trafilatura's XML body)
    """Remove the innermost text blocks that are (almost) all link text; return how many.

    trafilatura keeps a table-layout page's menu and sidebar cells with the
    article (its layout tables look like content); their text is the text of
    their links. A block with no text block inside it whose letters and digits
    are at least ``MIN_LINK_SHARE`` inside ``<ref>`` elements is removed.
    """
    blocks = [
        el
        for el in body.iter(*_TEXT_BLOCKS)
        if el.tag != "lb" and not any(child.tag in _TEXT_BLOCKS and child.tag != "lb" for child in el.iterdescendants())
    ]
    dropped = 0
    for el in blocks:
        total = _letters(el.xpath("string()"))
        if total == 0:
            continue
        in_links = sum(_letters(ref.xpath("string()")) for ref in el.iter("ref"))
        if in_links >= MIN_LINK_SHARE * total:
            parent = el.getparent()
            if parent is None:
                continue
            if el.tail and el.tail.strip():  # keep text that follows the block
                previous = el.getprevious()
                if previous is not None:
                    previous.tail = (previous.tail or "") + el.tail
                else:
                    parent.text = (parent.text or "") + el.tail
            parent.remove(el)
            dropped += 1
    return dropped


#: Elements of trafilatura's XML that are laid out as their own lines (everything else is inline).
_LINE_ELEMENTS = frozenset(("body", "div", "p", "head", "list", "item", "table", "row", "cell", "quote", "code", "section"))


def _body_blocks(body) -> list[str]:  # noqa: ANN001 - lxml element (trafilatura's XML body)
    """The text blocks of trafilatura's XML body, in order: one per paragraph, heading, list item or table cell.

    A line break (``<lb/>``, from ``<br>``) also ends a block, as pages that
    separate paragraphs with ``<br>`` mean it. (trafilatura's own text output
    joins the paragraphs inside a table cell into one line and frames cells
    with ``|``, which would merge a table-layout page's article into one
    paragraph.)
    """
    blocks: list[str] = []

    def walk(el, line: list[str]) -> None:  # noqa: ANN001
        def flush() -> None:
            text = _clean_line("".join(line))
            if text:
                blocks.append(text)
            line.clear()

        if el.text:
            line.append(el.text)
        for child in el:
            if not isinstance(child.tag, str):  # comments, processing instructions
                if child.tail:
                    line.append(child.tail)
                continue
            if child.tag in _LINE_ELEMENTS:
                flush()
                walk(child, [])
            elif child.tag == "lb":
                flush()
            else:
                line.append(child.xpath("string()"))
            if child.tail:
                line.append(child.tail)
        flush()

    walk(body, [])
    return blocks


def _clean_line(line: str) -> str:
    return _RE_SPACE.sub(" ", line).strip()


def _iso(value: str | None) -> str | None:
    if not value:
        return None
    m = _RE_ISO_DATE.search(value)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


def _page_meta(tree) -> dict[str, str]:  # noqa: ANN001 - lxml element
    """``<meta name|property=... content=...>`` of a parsed page, first value per key."""
    out: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = meta.get("name") or meta.get("property") or meta.get("itemprop")
        content = meta.get("content")
        if key and content and content.strip():
            out.setdefault(key.strip(), _clean_line(content))
    return out


def _first(meta: dict[str, str], keys: tuple[str, ...]) -> str | None:
    lowered = {k.lower(): v for k, v in reversed(list(meta.items()))}
    for key in keys:
        value = meta.get(key) or lowered.get(key.lower())
        if value:
            return value
    return None


def _element_text(tree, xpath: str) -> str | None:  # noqa: ANN001 - lxml element
    found = tree.xpath(xpath)
    if found:
        text = _clean_line(found[0].text_content())
        return text or None
    return None


def extract_page(html: str, *, url: str | None = None, path: str = "<html>") -> PageText:
    """The article text and metadata of one news page.

    Parameters
    ----------
    html : str
        The decoded page.
    url : str or None, default=None
        The page's address when known (JSON Lines ``url``); helps the
        extractor and is kept as metadata.
    path : str, default="<html>"
        Named in error messages (file, or file and record).

    Returns
    -------
    PageText
        ``text`` is the title line, a blank line, then the article's blocks
        separated by blank lines; whitespace runs inside a block become one
        space.

    Raises
    ------
    InputError
        The page holds no article text that the extractor finds.

    Notes
    -----
    The body comes from ``trafilatura.bare_extraction`` (comments left out,
    tables kept, no deduplication of repeated lines, so that a repeated
    sentence of the article stays), less the blocks that are almost all
    link text (``MIN_LINK_SHARE``: menus, related links, sidebars that a
    table-layout page's layout cells bring in). Metadata: the title is the page's
    ``ArticleTitle``/``og:title`` meta, else trafilatura's title (which reads
    ``<h1>``/``<title>``); the date is the first of ``PubDate``-style meta and
    trafilatura's (htmldate, without searching the article text, so that a
    date the report mentions is not taken for its publication date; dates
    after ``MAX_PAGE_DATE`` are refused, so reruns do not depend on today);
    site and author come from the government-site, Open Graph and WeChat
    fields (``SiteName``, ``og:site_name``, ``ContentSource``, ``Author``,
    ``#js_name``) and trafilatura's. The title line is not repeated when the
    article's first block already is the title.

    Examples
    --------
    >>> page = ("<html><head><title>云溪区宣讲300场_云溪区人民政府</title>"
    ...         '<meta name="ArticleTitle" content="云溪区宣讲300场"><meta name="PubDate" content="2021-06-04 09:30">'
    ...         "</head><body><div class='nav'><a href='/'>首页</a> <a href='/x'>政务公开</a></div>"
    ...         "<div id='zoom'><p>" + "全区开展党史宣讲300场,受众2万余人次,覆盖各村社区。" * 3 + "</p>"
    ...         "<p>" + "各支部组织党员学习党史,开展主题党日活动120次。" * 3 + "</p></div>"
    ...         "<div class='footer'>联系电话:0730-1234567</div></body></html>")
    >>> result = extract_page(page)
    >>> result.title, result.date, result.text.splitlines()[0], "0730" in result.text
    ('云溪区宣讲300场', '2021-06-04', '云溪区宣讲300场', False)
    """
    import lxml.html
    import trafilatura
    from trafilatura.settings import use_config

    if not isinstance(html, str):
        raise TypeError(f"`html` must be str, got {type(html).__name__}")
    config = use_config()
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # no signal alarm (threads, Windows)
    try:
        result = trafilatura.bare_extraction(
            html,
            url=url,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_formatting=False,
            include_links=True,
            deduplicate=False,
            with_metadata=True,
            date_extraction_params={
                "extensive_search": False,
                "original_date": True,
                "outputformat": "%Y-%m-%d",
                "max_date": MAX_PAGE_DATE,
            },
            config=config,
        )
    except (ValueError, TypeError) as exc:  # lxml cannot parse the document at all
        raise InputError(path, f"the HTML page cannot be parsed ({exc}).") from None
    blocks: list[str] = []
    if result is not None and result.body is not None:
        _drop_link_blocks(result.body)
        blocks = _body_blocks(result.body)
    if not blocks:
        raise InputError(
            path,
            "no article text found in the HTML page (the extractor kept nothing); "
            "check that the file is the article page, not a list or a login page.",
        )
    try:
        tree = lxml.html.fromstring(html.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
        meta = _page_meta(tree)
    except (ValueError, TypeError, lxml.etree.ParserError):
        tree, meta = None, {}
    title = _first(meta, _META_TITLE) or (_clean_line(result.title) if result.title else None)
    date = _iso(_first(meta, _META_DATE)) or _iso(result.date)
    site = _first(meta, _META_SITE) or result.sitename or None
    author = _first(meta, _META_AUTHOR) or result.author or None
    if author is None and tree is not None:
        author = _element_text(tree, "//*[@id='js_name']")
    if site and site.startswith(("来源:", "来源：")):
        site = site[3:].strip() or None
    lines = list(blocks)
    if title and _clean_line(title) != blocks[0]:
        lines = [_clean_line(title), *blocks]
    text = "\n\n".join(lines) + "\n"
    return PageText(
        text=text,
        title=_clean_line(title) if title else blocks[0],
        date=date,
        site=site,
        author=author,
        url=url or (result.url if result.url else None),
        n_blocks=len(blocks),
    )
