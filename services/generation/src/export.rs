//! Rendering a document to Markdown, HTML (rendered from Markdown and sanitised, see
//! [`crate::markdown`]) and PDF in three layouts ([`crate::pdf`]).

use crate::error::Error;
use crate::pdf::fonts::FontBook;
use crate::pdf::{self, Layout, Meta};

/// Largest PDF the exporter produces.
pub const MAX_PDF_BYTES: usize = 2 * 1024 * 1024;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
    Pdf(Layout),
}

impl Format {
    /// Every format a document is exported to, by its stored name.
    pub const ALL: [Format; 5] = [
        Format::Markdown,
        Format::Html,
        Format::Pdf(Layout::Classic),
        Format::Pdf(Layout::AtsPlain),
        Format::Pdf(Layout::Modern),
    ];

    /// `md` / `markdown`, `html`, `pdf` / `pdf-classic`, `pdf-ats`, `pdf-modern`
    /// (any case).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Some(Self::Markdown),
            "html" | "htm" => Some(Self::Html),
            "pdf" | "pdf-classic" => Some(Self::Pdf(Layout::Classic)),
            "pdf-ats" => Some(Self::Pdf(Layout::AtsPlain)),
            "pdf-modern" => Some(Self::Pdf(Layout::Modern)),
            _ => None,
        }
    }

    /// The name stored in `document_files.format`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Markdown => "md",
            Self::Html => "html",
            Self::Pdf(Layout::Classic) => "pdf",
            Self::Pdf(Layout::AtsPlain) => "pdf-ats",
            Self::Pdf(Layout::Modern) => "pdf-modern",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Markdown => "text/markdown; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
            Self::Pdf(_) => "application/pdf",
        }
    }
}

/// Renders `content` (plain text or Markdown) headed `meta.heading`.
pub fn render(
    format: Format,
    fonts: &FontBook,
    meta: &Meta,
    content: &str,
) -> Result<Vec<u8>, Error> {
    match format {
        Format::Markdown => Ok(markdown(content).into_bytes()),
        Format::Html => Ok(html(&meta.heading, content).into_bytes()),
        Format::Pdf(layout) => pdf::render(fonts, layout, meta, content),
    }
}

/// The document as Markdown, with one trailing newline.
pub fn markdown(content: &str) -> String {
    format!("{}\n", content.trim_end())
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A standalone HTML page titled `title` (escaped) whose body is `content` rendered
/// from Markdown and sanitised ([`crate::markdown::to_html`]).
pub fn html(title: &str, content: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         </head>\n<body>\n{}</body>\n</html>\n",
        escape(title),
        crate::markdown::to_html(content)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_parses_back_from_its_name() {
        for format in Format::ALL {
            assert_eq!(Format::parse(format.name()), Some(format));
        }
        assert_eq!(
            Format::parse("PDF-Classic"),
            Some(Format::Pdf(Layout::Classic))
        );
        assert_eq!(Format::parse("docx"), None);
    }

    #[test]
    fn html_is_escaped() {
        let page = html("<T>", "# Hi & bye\n\n<script>alert('x')</script>\n- a<b");
        assert!(page.contains("<title>&lt;T&gt;</title>"));
        assert!(page.contains("<h1>Hi &amp; bye</h1>"));
        assert!(!page.contains("<script"));
        assert!(!page.contains("alert"));
        assert!(page.contains("<li>a&lt;b</li>"));
    }

    #[test]
    fn long_documents_span_pages_in_every_layout() {
        let fonts = FontBook::with_fallbacks(&[]).expect("fonts");
        let meta = Meta {
            heading: "Letter".into(),
            title: "Letter".into(),
            ..Meta::default()
        };
        let text = "Ada Lovelace wrote this line again.\n".repeat(300);
        for layout in Layout::ALL {
            let bytes = pdf::render(&fonts, layout, &meta, &text).expect("renders");
            let doc = lopdf::Document::load_mem(&bytes).expect("parses");
            assert!(doc.get_pages().len() > 1, "{layout:?}");
            assert!(bytes.len() < MAX_PDF_BYTES);
        }
    }
}
