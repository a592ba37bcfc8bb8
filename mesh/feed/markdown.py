"""A question's context as sanitised HTML: Markdown rendered by markdown-it-py, server-side.

Raw HTML is off, so any tag in the text (a <script>, an <img onerror=…>) is escaped and shown
as text; markdown-it's link check refuses javascript:, vbscript:, file: and data: targets.
Images are shown as links (a page never loads a picture a task chose), and every link
opens in a new tab without a referrer or an opener. The result is wrapped in a
bidi-isolated element (dir="auto"), so a right-to-left override in the text cannot reverse
the page around it.
"""

from collections.abc import Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.token import Token

_LINK_REL = "nofollow noopener noreferrer"


def _link_open(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    token.attrSet("rel", _LINK_REL)
    token.attrSet("target", "_blank")
    rendered: str = renderer.renderToken(tokens, idx, options, env)
    return rendered


def _image(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """An image as a link to it, labelled with its alt text (or its address)."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = renderer.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escape(src)}" rel="{_LINK_REL}" target="_blank">[image: {escape(alt)}]</a>'


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "typographer": False})
    parser.enable(["table", "strikethrough"])
    parser.add_render_rule("link_open", _link_open)
    parser.add_render_rule("image", _image)
    return parser


_MARKDOWN = _parser()


def render_markdown(text: str | None) -> SafeString:
    """`text` as sanitised HTML inside <div class="markdown" dir="auto">; empty for none."""
    if not text:
        return mark_safe("")
    body = _MARKDOWN.render(text)
    return mark_safe(f'<div class="markdown" dir="auto">{body}</div>')  # noqa: S308
