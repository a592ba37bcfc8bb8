"""A question's context as sanitised HTML (mesh/feed/markdown.py)."""

from mesh.feed.markdown import render_markdown


def test_markdown_is_rendered_inside_a_bidi_isolated_block():
    html = render_markdown("Build **4521** passed.\n\n- one\n- `two`")
    assert html.startswith('<div class="markdown" dir="auto">')
    assert "<strong>4521</strong>" in html
    assert "<li><code>two</code></li>" in html


def test_raw_html_is_escaped_and_shown_as_text():
    html = render_markdown('<script>alert(1)</script> <img src=x onerror="alert(2)">')
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html


def test_dangerous_link_targets_are_not_links():
    for target in ("javascript:alert(1)", "vbscript:msgbox(1)", "data:text/html,<b>x</b>"):
        html = render_markdown(f"[click]({target})")
        assert "<a " not in html, target


def test_links_open_without_referrer_or_opener():
    html = render_markdown("[docs](https://example.com/a?b=1&c=2)")
    assert (
        '<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener noreferrer" '
        'target="_blank">docs</a>'
    ) in html


def test_images_become_links_and_never_load():
    html = render_markdown('![chart "q3"](https://example.com/x.png" onerror="alert(1))')
    assert "<img" not in html
    html = render_markdown("![chart <b>](https://example.com/x.png)")
    assert "<img" not in html
    assert '<a href="https://example.com/x.png"' in html
    assert "[image: chart &lt;b&gt;]" in html


def test_nothing_for_no_context():
    assert render_markdown(None) == ""
    assert render_markdown("") == ""


def test_a_right_to_left_override_stays_inside_the_block():
    html = render_markdown("\u202eevil override")
    assert html.startswith('<div class="markdown" dir="auto">')
    assert "\u202eevil override" in html


def test_tables_and_strikethrough_render():
    html = render_markdown("| a | b |\n|---|---|\n| 1 | ~~2~~ |")
    assert "<table>" in html
    assert "<s>2</s>" in html
