//! The HTML export: Markdown rendered with pulldown-cmark and sanitised with ammonia,
//! driven through `export::render(Format::Html, ..)`, the function the export step uses.

use sagaflow_generation::export::{Format, render};
use sagaflow_generation::pdf::Meta;
use sagaflow_generation::pdf::fonts::FontBook;

fn page(title: &str, markdown: &str) -> String {
    let meta = Meta {
        heading: title.to_owned(),
        ..Meta::default()
    };
    let bytes =
        render(Format::Html, &FontBook::shared(), &meta, markdown).expect("HTML always renders");
    String::from_utf8(bytes).expect("UTF-8")
}

/// The `<body>` of a page, to assert on the rendered document alone.
fn body(markdown: &str) -> String {
    let page = page("Cover letter", markdown);
    let start = page.find("<body>\n").expect("a body") + "<body>\n".len();
    let end = page.rfind("</body>").expect("a closed body");
    page[start..end].to_owned()
}

#[test]
fn markdown_renders_to_html_elements() {
    let html = body(
        "# Ada Lovelace\n\
         \n\
         ## Experience\n\
         \n\
         I write **bold** and *italic* and _also italic_ text.\n\
         \n\
         - Analytical Engine\n  \
           - Notes on the engine\n  \
           - Bernoulli numbers\n\
         - Poetry\n\
         \n\
         1. First\n\
         2. Second\n\
         \n\
         See [my notes](https://example.org/notes?a=1&b=2 \"Notes\") or \
         [write](mailto:ada@example.org).\n\
         \n\
         > Quoted\n\
         \n\
         ---\n\
         \n\
         `code`\n",
    );
    for expected in [
        "<h1>Ada Lovelace</h1>",
        "<h2>Experience</h2>",
        "<strong>bold</strong>",
        "<em>italic</em>",
        "<em>also italic</em>",
        "<ul>\n<li>Analytical Engine\n<ul>\n<li>Notes on the engine</li>\n<li>Bernoulli numbers</li>\n</ul>\n</li>\n<li>Poetry</li>\n</ul>",
        "<ol>\n<li>First</li>\n<li>Second</li>\n</ol>",
        "<a href=\"https://example.org/notes?a=1&amp;b=2\" title=\"Notes\" rel=\"noopener noreferrer\">my notes</a>",
        "<a href=\"mailto:ada@example.org\" rel=\"noopener noreferrer\">write</a>",
        "<blockquote>\n<p>Quoted</p>\n</blockquote>",
        "<hr>",
        "<code>code</code>",
    ] {
        assert!(html.contains(expected), "missing {expected:?} in\n{html}");
    }
    assert!(!html.contains("**"), "{html}");
}

#[test]
fn a_page_keeps_its_document_and_escapes_the_title() {
    let page = page("Résumé <b> & \"co\"", "Hello");
    assert!(
        page.starts_with(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>Résumé &lt;b&gt; &amp; &quot;co&quot;</title>\n</head>\n<body>\n"
        ),
        "{page}"
    );
    assert!(page.ends_with("<p>Hello</p>\n</body>\n</html>\n"), "{page}");
}

#[test]
fn line_breaks_inside_a_paragraph_are_kept() {
    let html = body("Kind regards,\nAda Lovelace");
    assert_eq!(html, "<p>Kind regards,<br>\nAda Lovelace</p>\n");
}

#[test]
fn an_ordered_list_keeps_its_start() {
    let html = body("3. Third\n4. Fourth");
    assert!(html.contains("<ol start=\"3\">\n<li>Third</li>"), "{html}");
}

#[test]
fn raw_html_scripts_handlers_and_bad_urls_do_not_survive() {
    let html = body(
        "Intro <script>alert(1)</script> text.\n\
         \n\
         <script>alert(1)</script>\n\
         \n\
         Photo <img src=x onerror=alert(1)> here.\n\
         \n\
         <img src=x onerror=alert(1)>\n\
         \n\
         [x](javascript:alert(1)) [y](JaVaScRiPt:alert(1)) [z](data:text/html,hi) \
         [r](/relative)\n\
         \n\
         <iframe src=\"https://evil.example\"></iframe>\n\
         \n\
         Inline <iframe src=\"https://evil.example\"></iframe> frame.\n\
         \n\
         <p style=\"color:red\" onclick=\"alert(1)\">Styled block</p>\n\
         \n\
         A <span style=\"color:red\">styled span</span> and <a href=\"https://x.example\" onmouseover=\"alert(1)\">raw link</a>.\n\
         \n\
         <style>body { display: none }</style>\n\
         \n\
         ![tracker](https://evil.example/pixel.png)\n",
    );
    for forbidden in [
        "<script",
        "onerror",
        "onclick",
        "onmouseover",
        "javascript:",
        "JaVaScRiPt:",
        "data:",
        "<iframe",
        "style=",
        "<style",
        "<img",
        "<span",
        "href=\"/relative\"",
        "display: none",
        "https://x.example",
        "https://evil.example",
    ] {
        assert!(
            !html.contains(forbidden),
            "{forbidden:?} survived in\n{html}"
        );
    }
    // The surrounding prose survives, as text.
    for kept in [
        "Intro",
        "text.",
        "Photo",
        "here.",
        "Styled block",
        "styled span",
        "raw link",
        "frame.",
        "tracker",
    ] {
        assert!(html.contains(kept), "{kept:?} lost in\n{html}");
    }
    // A link whose URL was refused keeps its text but no target.
    assert!(
        html.contains("<a rel=\"noopener noreferrer\">x</a>"),
        "{html}"
    );
}

#[test]
fn an_autolink_with_a_refused_scheme_has_no_target() {
    let html = body("<javascript:alert(1)> <vbscript:msgbox(1)> <https://ok.example>");
    assert!(!html.contains("href=\"javascript"), "{html}");
    assert!(!html.contains("href=\"vbscript"), "{html}");
    assert!(
        html.contains(
            "<a href=\"https://ok.example\" rel=\"noopener noreferrer\">https://ok.example</a>"
        ),
        "{html}"
    );
}

#[test]
fn special_characters_and_non_latin_scripts_round_trip_escaped() {
    let html = body(
        "Łukasz Żółć: 3 < 5 && 7 > 2, \"quoted\" 'single'\n\
         \n\
         Ελληνικά: Καλημέρα κόσμε\n\
         \n\
         日本語：こんにちは世界\n\
         \n\
         **Łukasz** & [Zoë](https://example.org/zoë)\n",
    );
    for expected in [
        "<p>Łukasz Żółć: 3 &lt; 5 &amp;&amp; 7 &gt; 2, \"quoted\" 'single'</p>",
        "<p>Ελληνικά: Καλημέρα κόσμε</p>",
        "<p>日本語：こんにちは世界</p>",
        "<strong>Łukasz</strong> &amp; <a href=\"https://example.org/zo%C3%AB\" rel=\"noopener noreferrer\">Zoë</a>",
    ] {
        assert!(html.contains(expected), "missing {expected:?} in\n{html}");
    }
}

#[test]
fn entities_in_markdown_are_not_turned_into_markup() {
    let html = body("&lt;script&gt;alert(1)&lt;/script&gt; and &#60;iframe&#62;");
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<iframe"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
}
