"""Build realistic news pages of the genre from plain-text reports (for bench_html_extraction.py and the tests).

Three layouts that Chinese local reports are published or reposted in:

- ``gov``: a district/city government site (``<meta name="ArticleTitle">``,
  ``PubDate``, ``ContentSource``), a navigation bar, a breadcrumb, an info
  line (发布时间/来源/字号/打印), the article in ``div#zoom``, a share bar, related
  links, a footer with the ICP number, address, telephone and visitor counter,
  and scripts;
- ``portal``: a news portal (Open Graph metadata, a channel bar, a sidebar of
  hot news with numbers in its headlines, an editor line, a comment box, ads);
- ``legacy``: an older county site laid out with nested tables, declared
  GB2312, the article one ``<td>`` whose paragraphs are separated by ``<br>``
  and full-width-space indents, the menu and a sidebar of linked headlines in
  other cells, 打印本页/关闭窗口 and a footer;
- ``wechat``: a WeChat official-account post as reposts keep it
  (``rich_media_title``, ``js_name``, ``publish_time``, the text in nested
  ``<section>``/``<span>``, 点击蓝字关注, 长按二维码, 阅读原文, the page's scripts
  with ``var msg_title``).

The boilerplate is full of numbers (telephone, ICP number, counters, hot-news
headlines such as 新增就业岗位1.2万个) so that an extractor that lets it through
changes the metric mentions. Each page comes with what an extractor should
give back: the body lines and the boilerplate snippets that must not appear.

Nothing here reads ../shared at import; callers pass the texts.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

__all__ = ["LAYOUTS", "Page", "split_report", "build_page"]

LAYOUTS = ("gov", "portal", "wechat", "legacy")

_RE_MD_HEADING = re.compile(r"^(#{1,6})\s*(.+)$")
_RE_MD_BOLD = re.compile(r"\*\*(.+?)\*\*")


@dataclass(frozen=True)
class Page:
    """A built page: its HTML and what a good extractor returns from it."""

    layout: str
    html: str
    title: str
    date: str | None
    site: str
    body_lines: tuple[str, ...]
    boilerplate: tuple[str, ...]


def split_report(text: str, title: str | None = None) -> tuple[str, list[str]]:
    """Title and the body lines of a plain-text report.

    Without ``title`` the first non-empty line is the title. With it (e.g. the
    title the cleaning step found), every line is body except a first line
    equal to the title.
    """
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError("empty report")
    if title is None:
        return lines[0].lstrip("#").strip(), lines[1:]
    if lines[0].lstrip("#").strip() == title:
        lines = lines[1:]
    return title, lines


def _legacy(title, date, site, place, body, related):
    boiler = ["首页 | 政务公开 | 办事服务 | 互动交流", "【打印本页】【关闭窗口】", f"版权所有：{site}", "联系电话：0730-8881234", "湘ICP备12003456号"] + related
    side = "".join(f'<tr><td><a href="/xw/{i}.html">{html.escape(r)}</a></td></tr>' for i, r in enumerate(related))
    page = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{html.escape(title)}</title></head>
<body leftmargin="0" topmargin="0"><table width="1000" align="center" border="0"><tr><td><img src="/images/banner.jpg" alt=""></td></tr>
<tr><td class="nav"><a href="/">首页</a> | <a href="/zwgk/">政务公开</a> | <a href="/bsfw/">办事服务</a> | <a href="/hdjl/">互动交流</a></td></tr></table>
<table width="1000" align="center"><tr><td width="200" valign="top"><table>{side}</table></td>
<td valign="top"><table width="100%"><tr><td align="center"><font size="4"><b>{html.escape(title)}</b></font></td></tr>
<tr><td align="center">发布日期：{date or ''}　　来源：{html.escape(site)}　　点击数：2538</td></tr>
<tr><td class="content"><font style="font-size:14px;line-height:28px">{body}</font></td></tr>
<tr><td align="right">【<a href="javascript:window.print()">打印本页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</td></tr></table></td></tr></table>
<table width="1000" align="center"><tr><td align="center">版权所有：{html.escape(site)}　技术支持：某某网络公司　联系电话：0730-8881234<br>湘ICP备12003456号</td></tr></table>
<script language="javascript">document.write("<img src='/count.asp?id=2538'>");</script></body></html>"""
    return page, boiler


def _body_html(lines: list[str], *, wechat: bool, legacy: bool = False) -> tuple[str, list[str]]:
    """The article body as HTML (headings as <h2>/<h3> or bold paragraphs) and the lines as a reader sees them."""
    out, visible = [], []
    if legacy:
        for line in lines:
            m = _RE_MD_HEADING.match(line)
            text = _RE_MD_BOLD.sub(r"\1", m.group(2) if m else line).strip()
            out.append("\u3000\u3000" + html.escape(text, quote=False))
            visible.append(text)
        return "<br>\n".join(out), visible
    for line in lines:
        m = _RE_MD_HEADING.match(line)
        if m:
            text = _RE_MD_BOLD.sub(r"\1", m.group(2)).strip()
            level = min(len(m.group(1)) + 1, 4)
            out.append(f"<h{level}>{html.escape(text)}</h{level}>")
            visible.append(text)
            continue
        plain = _RE_MD_BOLD.sub(r"\1", line)
        inner = _RE_MD_BOLD.sub(lambda g: f"<strong>{html.escape(g.group(1))}</strong>", html.escape(line, quote=False))
        if wechat:
            out.append(
                '<section style="margin:0 8px"><p style="text-indent:2em;line-height:1.75em">'
                f'<span style="font-size:15px;color:#3f3f3f">{inner}</span></p></section>'
            )
        else:
            out.append(f'<p style="text-indent:2em">{inner}</p>')
        visible.append(plain)
    return "\n".join(out), visible


_SCRIPT = """<script type="text/javascript">
var _hmt = _hmt || []; (function() { var hm = document.createElement("script");
hm.src = "https://hm.baidu.com/hm.js?8a1b2c3d4e5f"; var s = document.getElementsByTagName("script")[0];
s.parentNode.insertBefore(hm, s); })();
var pageConfig = {"channel": "新闻中心", "articleId": 1128009785, "views": 35821, "tip": "全区累计访问量12万余人次"};
</script>"""


def _gov(title, date, site, place, body, related):
    nav = ["首页", "走进" + place, "政务公开", "政务服务", "互动交流", "专题专栏", "党史学习教育"]
    boiler = [
        "当前位置：首页 > 新闻中心 > 工作动态",
        "【字体：大 中 小】",
        "分享到：微信 微博 QQ空间",
        f"主办单位：{site}办公室",
        "豫ICP备05012345号-1",
        "网站标识码：4101020001",
        "联系电话：0371-67181234",
        "您是本站第2358649位访客",
    ] + related
    related_html = "".join(f'<li><a href="/xwzx/{i}.html">{html.escape(r)}</a><span>2021-06-0{i + 1}</span></li>' for i, r in enumerate(related))
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<title>{html.escape(title)}_{html.escape(site)}</title>
<meta name="SiteName" content="{html.escape(site)}">
<meta name="ColumnName" content="工作动态">
<meta name="ArticleTitle" content="{html.escape(title)}">
<meta name="PubDate" content="{date or ''} 09:30">
<meta name="ContentSource" content="{html.escape(site)}">
<link rel="stylesheet" href="/css/main.css"><style>.nav li{{float:left}} #zoom p{{font-size:16px}}</style>
{_SCRIPT}
</head><body>
<div class="top"><div class="top-links"><a href="/">无障碍浏览</a> | <a href="/m/">手机版</a> | <a href="/en/">English</a></div>
<form class="search"><input name="q" placeholder="请输入关键字"><button>搜索</button></form></div>
<div class="header"><img src="/images/logo.png" alt="{html.escape(site)}"></div>
<div class="nav"><ul>{"".join(f'<li><a href="/c{i}/">{n}</a></li>' for i, n in enumerate(nav))}</ul></div>
<div class="main"><div class="location">当前位置：<a href="/">首页</a> &gt; <a href="/xwzx/">新闻中心</a> &gt; <a href="/xwzx/gzdt/">工作动态</a></div>
<div class="article">
<h1 class="title">{html.escape(title)}</h1>
<div class="info">发布时间：{date or ''} 09:30 &nbsp; 来源：{html.escape(site)} &nbsp; 浏览次数：<span id="hits">1532</span>
&nbsp; 【字体：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a>】 <a href="javascript:window.print()">打印</a></div>
<div class="content" id="zoom">
{body}
</div>
<div class="share">分享到：<a class="wx">微信</a> <a class="wb">微博</a> <a class="qq">QQ空间</a></div>
<div class="prev-next"><p>上一篇：<a href="/xwzx/1.html">{html.escape(related[0])}</a></p><p>下一篇：<a href="/xwzx/2.html">{html.escape(related[1])}</a></p></div>
</div>
<div class="related"><h3>相关链接</h3><ul>{related_html}</ul></div></div>
<div class="footer"><p><a href="/about/">关于我们</a> | <a href="/map/">网站地图</a> | <a href="/contact/">联系我们</a></p>
<p>主办单位：{html.escape(site)}办公室 &nbsp; 承办：{html.escape(place)}大数据管理中心</p>
<p><a href="https://beian.miit.gov.cn/">豫ICP备05012345号-1</a> &nbsp; 网站标识码：4101020001 &nbsp; 豫公网安备 41010202002345号</p>
<p>地址：{html.escape(place)}中原西路233号 &nbsp; 邮编：450007 &nbsp; 联系电话：0371-67181234</p>
<p>您是本站第2358649位访客 &nbsp; 建议使用1920×1080分辨率</p></div>
<script src="/js/jquery-1.12.4.min.js"></script><script>$(function(){{ $("#hits").load("/hits?id=35821"); }});</script>
</body></html>"""
    return page, boiler


def _portal(title, date, site, place, body, related):
    hot = [f"{r}" for r in related] + ["全省新增城镇就业岗位1.2万个", "前5个月外贸进出口增长23.6%"]
    boiler = ["(责编：王晓、李明)", "网友评论", "热点新闻", "全省新增城镇就业岗位1.2万个", "前5个月外贸进出口增长23.6%", "客户端下载", "违法和不良信息举报电话：12377"] + related
    page = f"""<!doctype html>
<html><head><meta charset="utf-8">
<title>{html.escape(title)}--{html.escape(site)}--人民网</title>
<meta name="keywords" content="党史学习教育,{html.escape(place)}">
<meta name="description" content="{html.escape(title)}">
<meta property="og:title" content="{html.escape(title)}">
<meta property="og:site_name" content="{html.escape(site)}">
<meta property="og:type" content="article">
<meta name="publishdate" content="{date or ''}">
<meta name="source" content="来源：{html.escape(site)}">
{_SCRIPT}
</head><body>
<div id="topbar"><a href="/">{html.escape(site)}首页</a> <a href="/app">客户端下载</a> <a href="/login">登录</a> <a href="/reg">注册</a></div>
<div class="channel-nav"><a>时政</a><a>地方</a><a>财经</a><a>社会</a><a>党建</a><a>视频</a><a>图片</a></div>
<div class="ad ad-banner"><a href="/ad/1"><img src="/ad/618.jpg" alt="618年中大促 满300减50"></a></div>
<div class="layout"><div class="col-1">
<div class="crumbs"><a href="/">{html.escape(site)}</a>&gt;&gt;<a href="/local/">地方频道</a>&gt;&gt;<a href="/local/dj/">党建</a></div>
<h1>{html.escape(title)}</h1>
<div class="box01"><div class="fl">{date or ''} 08:14 &nbsp; 来源：<a href="/">{html.escape(site)}</a></div>
<div class="fr"><a class="share-wx">分享到微信</a> <a class="share-wb">分享到微博</a> <a class="font">字号：大 中 小</a></div></div>
<div class="rm_txt_con cf">
{body}
<p class="edit">(责编：王晓、李明)</p>
</div>
<div class="comment"><h3>网友评论</h3><textarea placeholder="我来说两句"></textarea><p>已有1024条评论，236人参与</p></div>
</div><div class="col-2">
<div class="hot"><h3>热点新闻</h3><ol>{"".join(f'<li><a href="/n/{i}.html">{html.escape(h)}</a></li>' for i, h in enumerate(hot))}</ol></div>
<div class="ad"><img src="/ad/side.jpg" alt="广告"></div></div></div>
<div id="footer"><p>{html.escape(site)}版权所有，未经书面授权禁止使用</p><p>Copyright © 1997-2021 by www.people.com.cn. all rights reserved</p>
<p>违法和不良信息举报电话：12377 &nbsp; 举报邮箱：jubao@people.cn</p></div>
<script>window.__INITIAL_STATE__ = {{"hot": ["全省新增城镇就业岗位1.2万个"], "pv": 88231}};</script>
</body></html>"""
    return page, boiler


def _wechat(title, date, site, place, body, related):
    account = f"{place}发布"
    boiler = ["点击蓝字", "关注我们", "长按识别二维码关注", "阅读原文", "分享", "在看", "来源：" + account, "编辑：刘洋 审核：张伟"] + related
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1.0">
<title>{html.escape(title)}</title>
<meta property="og:title" content="{html.escape(title)}">
<meta property="og:url" content="http://mp.weixin.qq.com/s?__biz=MzA3NjEyMzQ1Ng==&amp;mid=2650012345&amp;idx=1">
<meta property="og:description" content="{html.escape(title)}">
<meta property="og:site_name" content="微信公众平台">
<meta property="og:article:author" content="{html.escape(account)}">
<script>var msg_title = "{html.escape(title)}"; var ct = "1622772000"; var nickname = "{html.escape(account)}";
var appmsg_like_type = 2; var read_num = 5136; var like_num = 328;</script>
</head><body id="activity-detail" class="zh_CN">
<div class="rich_media"><div class="rich_media_inner"><div id="page-content" class="rich_media_area_primary">
<h1 class="rich_media_title" id="activity-name">{html.escape(title)}</h1>
<div id="meta_content" class="rich_media_meta_list"><span class="rich_media_meta rich_media_meta_text">{html.escape(site)}</span>
<span class="rich_media_meta rich_media_meta_nickname" id="profileBt"><a href="javascript:void(0);" id="js_name">{html.escape(account)}</a></span>
<em id="publish_time" class="rich_media_meta rich_media_meta_text">{date or ''} 10:00</em></div>
<div class="rich_media_content" id="js_content">
<section style="text-align:center"><p><span style="color:#0052ff">点击蓝字</span></p><p><span>关注我们</span></p></section>
{body}
<section><p><span style="font-size:12px;color:#888">来源：{html.escape(account)}</span></p>
<p><span style="font-size:12px;color:#888">编辑：刘洋 审核：张伟</span></p></section>
<section style="text-align:center"><img data-src="https://mmbiz.qpic.cn/qr.jpg"><p><span>长按识别二维码关注</span></p></section>
</div>
<div class="rich_media_tool"><a id="js_view_source">阅读原文</a> <span>阅读 5136</span> <a>分享</a> <a>在看</a> <span>328</span></div>
<div class="related_article"><h3>往期推荐</h3>{"".join(f'<p><a href="/s/{i}">{html.escape(r)}</a></p>' for i, r in enumerate(related))}</div>
</div></div></div>
<script nonce="12345">window.__second_open__ = false; var biz = "MzA3NjEyMzQ1Ng=="; var user_uin = "0" * 1;</script>
</body></html>"""
    return page, boiler


_BUILDERS = {"gov": _gov, "portal": _portal, "wechat": _wechat, "legacy": _legacy}


def build_page(
    text: str,
    layout: str,
    *,
    place: str = "本区",
    title: str | None = None,
    date: str | None = None,
    site: str | None = None,
    related: list[str] | None = None,
) -> Page:
    """A news page of ``layout`` that carries the plain-text report ``text``.

    Write a ``legacy`` page in GB18030 (it declares GB2312, as such sites do);
    the others declare UTF-8.

    ``title`` is the page's headline (default: the first line of ``text``).
    ``related`` are the headlines of the related-links/hot-news lists (give
    other reports' titles, with numbers in them); the defaults hold numbers.
    """
    if layout not in _BUILDERS:
        raise ValueError(f"layout {layout!r}: one of {LAYOUTS}")
    title, lines = split_report(text, title)
    site = site or f"{place}人民政府"
    related = related or [f"{place}开展宣讲活动120余场", f"{place}为群众办实事356件", "全市3.5万名党员参加志愿服务"]
    body, visible = _body_html(lines, wechat=layout == "wechat", legacy=layout == "legacy")
    page, boiler = _BUILDERS[layout](title, date, site, place, body, related)
    return Page(layout=layout, html=page, title=title, date=date, site=site, body_lines=tuple(visible), boilerplate=tuple(boiler))
