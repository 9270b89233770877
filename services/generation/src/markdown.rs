//! Markdown to safe HTML: [`to_html`] renders CommonMark with `pulldown-cmark` and
//! sanitises the result with `ammonia` against an allow-list of what a letter or
//! resume needs.
//!
//! - Allowed: `h1`–`h6`, `p`, `br`, `strong`, `em`, `ul`, `ol` (`start`), `li`,
//!   `a` (`href`, `title`), `blockquote`, `code`, `pre`, `hr`. Nothing else, no
//!   `class`, `style`, `id` or `on*` attribute.
//! - Links: `http`, `https` and `mailto` only (relative and any other scheme lose
//!   their `href`), always `rel="noopener noreferrer"`.
//! - Raw HTML in the Markdown never passes through: inline tags are dropped (the text
//!   between them stays, as escaped text), and an HTML block keeps only its text (escaped; `script`, `style`, `iframe` and the like
//!   lose their content too). Images become their alt text (no remote fetches).
//! - A single line break inside a paragraph is kept as `<br>`: documents are written
//!   line by line ("Kind regards,\nAda"), as the PDF lays them out.

use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};

/// Elements the output may contain.
const TAGS: [&str; 18] = [
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "br",
    "strong",
    "em",
    "ul",
    "ol",
    "li",
    "a",
    "blockquote",
    "code",
    "pre",
    "hr",
];

/// Link schemes the output may keep.
const URL_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// Elements whose content is dropped along with the element.
const CONTENT_DROPPED: [&str; 8] = [
    "script", "style", "iframe", "noscript", "template", "object", "textarea", "title",
];

/// The allow-list applied to the rendered HTML.
static ALLOW_LIST: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::empty();
    builder
        .tags(TAGS.into_iter().collect())
        .clean_content_tags(CONTENT_DROPPED.into_iter().collect())
        .generic_attributes(Default::default())
        .generic_attribute_prefixes(Default::default())
        .tag_attributes(
            [
                ("a", ["href", "title"].into_iter().collect()),
                ("ol", ["start"].into_iter().collect()),
            ]
            .into_iter()
            .collect(),
        )
        .tag_attribute_values(Default::default())
        .set_tag_attribute_values(Default::default())
        .allowed_classes(Default::default())
        .url_schemes(URL_SCHEMES.into_iter().collect())
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .strip_comments(true);
    builder
});

/// Keeps only the text of raw HTML (escaped), for HTML blocks in the Markdown.
static TEXT_ONLY: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::empty();
    builder
        .clean_content_tags(CONTENT_DROPPED.into_iter().collect())
        .generic_attributes(Default::default())
        .strip_comments(true);
    builder
});

/// Renders `markdown` to a sanitised HTML fragment (no surrounding document).
pub fn to_html(markdown: &str) -> String {
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut raw_block: Option<String> = None;
    for event in Parser::new_ext(markdown, Options::empty()) {
        match event {
            Event::Start(Tag::HtmlBlock) => raw_block = Some(String::new()),
            Event::Html(raw) => {
                if let Some(block) = raw_block.as_mut() {
                    block.push_str(&raw);
                }
            }
            Event::End(TagEnd::HtmlBlock) => {
                let text = TEXT_ONLY
                    .clean(&raw_block.take().unwrap_or_default())
                    .to_string();
                let text = text.trim();
                if !text.is_empty() {
                    events.push(Event::Html(format!("<p>{text}</p>\n").into()));
                }
            }
            Event::InlineHtml(_) | Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {}
            Event::SoftBreak => events.push(Event::HardBreak),
            other => events.push(other),
        }
    }
    let mut rendered = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut rendered, events.into_iter());
    ALLOW_LIST.clean(&rendered).to_string()
}
