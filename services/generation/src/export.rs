//! Rendering a document to Markdown, HTML (rendered from Markdown and sanitised, see
//! [`crate::markdown`]) and PDF (A4, the built-in Helvetica fonts, wrapped lines, as
//! many pages as needed).

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};

use crate::error::Error;

/// Largest PDF the exporter produces.
pub const MAX_PDF_BYTES: usize = 2 * 1024 * 1024;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
    Pdf,
}

impl Format {
    /// `md` / `markdown`, `html`, `pdf` (any case).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Some(Self::Markdown),
            "html" | "htm" => Some(Self::Html),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }

    /// The name stored in `document_files.format`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Markdown => "md",
            Self::Html => "html",
            Self::Pdf => "pdf",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Markdown => "text/markdown; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
            Self::Pdf => "application/pdf",
        }
    }
}

/// Renders `content` (plain text or Markdown) titled `title`.
pub fn render(format: Format, title: &str, content: &str) -> Result<Vec<u8>, Error> {
    match format {
        Format::Markdown => Ok(markdown(content).into_bytes()),
        Format::Html => Ok(html(title, content).into_bytes()),
        Format::Pdf => pdf(title, content),
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

/// Characters per line at 11 pt Helvetica on A4 with 56 pt margins (about 5.5 pt a
/// character on average, rounded down for safety).
const WRAP: usize = 88;
const PAGE_WIDTH: i64 = 595;
const PAGE_HEIGHT: i64 = 842;
const MARGIN: i64 = 56;
const LEADING: i64 = 15;

/// Wraps `text` at word boundaries to at most `width` characters (longer words split).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: String = word.to_owned();
        while word.chars().count() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// WinAnsi bytes for a PDF string (Latin-1 maps as is; typographic quotes and dashes
/// to their WinAnsi codes; anything else to `?`).
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201C}' => 0x93,
            '\u{201D}' => 0x94,
            '\u{2022}' => 0x95,
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{20AC}' => 0x80,
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

/// One laid-out line: bold heading or body text.
struct Line {
    bold: bool,
    text: String,
}

fn layout(title: &str, content: &str) -> Vec<Line> {
    let mut lines = vec![
        Line {
            bold: true,
            text: title.to_owned(),
        },
        Line {
            bold: false,
            text: String::new(),
        },
    ];
    for raw in content.lines() {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            lines.push(Line {
                bold: false,
                text: String::new(),
            });
            continue;
        }
        let bold = trimmed.starts_with('#');
        let text = trimmed.trim_start_matches('#').trim().replace("**", "");
        for wrapped in wrap(&text, WRAP) {
            lines.push(Line {
                bold,
                text: wrapped,
            });
        }
    }
    lines
}

/// The document as a PDF.
pub fn pdf(title: &str, content: &str) -> Result<Vec<u8>, Error> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let regular = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let bold = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica-Bold",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => regular, "F2" => bold },
    });
    let per_page = usize::try_from((PAGE_HEIGHT - 2 * MARGIN) / LEADING).unwrap_or(50);
    let lines = layout(title, content);
    let mut kids: Vec<Object> = Vec::new();
    for chunk in lines.chunks(per_page.max(1)) {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("TL", vec![LEADING.into()]),
            Operation::new("Td", vec![MARGIN.into(), (PAGE_HEIGHT - MARGIN).into()]),
        ];
        for line in chunk {
            let font = if line.bold { "F2" } else { "F1" };
            operations.push(Operation::new("Tf", vec![font.into(), 11.into()]));
            operations.push(Operation::new(
                "Tj",
                vec![Object::string_literal(win_ansi(&line.text))],
            ));
            operations.push(Operation::new("T*", vec![]));
        }
        operations.push(Operation::new("ET", vec![]));
        let encoded = Content { operations }
            .encode()
            .map_err(|e| Error::Pdf(e.to_string()))?;
        let content_id = doc.add_object(Stream::new(dictionary! {}, encoded));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
        });
        kids.push(page_id.into());
    }
    let count = i64::try_from(kids.len()).unwrap_or(i64::MAX);
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), PAGE_WIDTH.into(), PAGE_HEIGHT.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    doc.compress();
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes)
        .map_err(|e| Error::Pdf(e.to_string()))?;
    if bytes.len() > MAX_PDF_BYTES {
        return Err(Error::Pdf(format!(
            "the PDF is {} bytes, over the {MAX_PDF_BYTES} byte limit",
            bytes.len()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_word_boundaries() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
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
    fn long_documents_span_pages_and_parse() {
        let text = "Ada Lovelace wrote this line again.\n".repeat(300);
        let bytes = pdf("Letter", &text).expect("renders");
        let doc = Document::load_mem(&bytes).expect("parses");
        assert!(doc.get_pages().len() > 1);
        assert!(bytes.len() < MAX_PDF_BYTES);
    }
}
