//! PDF rendering with krilla: embedded, subset Unicode fonts ([`fonts`]), Markdown
//! blocks ([`blocks`]) wrapped by glyph width ([`lines`]), in one of three layouts
//! ([`style`]), with title, author and keyword metadata. A layout pass places every
//! line on a page first, so footers can say "page 1 of 2"; a drawing pass then writes
//! the pages. The output is the same for the same input (no creation date), so a
//! repeated export stores the same bytes.

pub mod blocks;
pub mod fonts;
pub mod lines;
pub mod style;

use std::ops::Range;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule};
use krilla::surface::Surface;
use krilla::text::TextDirection;

use self::blocks::{Block, Kind};
use self::fonts::FontBook;
use self::lines::Setter;
pub use self::style::Layout;
use self::style::{Rgb, Style};
use crate::error::Error;

/// A4 in points.
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;

/// What the PDF says about itself, and the title printed at its top.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The title printed on the first page ("Cover letter").
    pub heading: String,
    /// The document's title in its metadata.
    pub title: String,
    pub author: Option<String>,
    pub keywords: Vec<String>,
}

/// The mark of a list item.
const BULLET: &str = "\u{2022}";

/// A line of text placed on a page (`y` is the baseline).
struct Placed {
    page: usize,
    x: f32,
    y: f32,
    block: usize,
    range: Range<usize>,
    size: f32,
    colour: Option<Rgb>,
}

/// A horizontal rule placed on a page.
struct Rule {
    page: usize,
    x: f32,
    y: f32,
    width: f32,
}

/// Where everything goes.
struct Plan {
    blocks: Vec<Block>,
    lines: Vec<Placed>,
    rules: Vec<Rule>,
    pages: usize,
}

/// Fills a rectangle in `colour` (black when `None`).
fn fill_rect(surface: &mut Surface<'_>, colour: Option<Rgb>, x: f32, y: f32, w: f32, h: f32) {
    let Some(rect) = Rect::from_xywh(x, y, w, h) else {
        return;
    };
    let mut path = PathBuilder::new();
    path.push_rect(rect);
    if let Some(path) = path.finish() {
        set_colour(surface, colour);
        surface.draw_path(&path);
    }
}

/// Sets the fill for what follows (black when `None`).
fn set_colour(surface: &mut Surface<'_>, colour: Option<Rgb>) {
    surface.set_fill(colour.map(|(r, g, b)| Fill {
        paint: rgb::Color::new(r, g, b).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::default(),
    }));
}

/// Renders `content` (Markdown or plain text) in `layout`.
pub fn render(
    book: &FontBook,
    layout: Layout,
    meta: &Meta,
    content: &str,
) -> Result<Vec<u8>, Error> {
    let style = layout.style();
    let plan = place(book, &style, meta, content);
    let mut document = Document::new();
    let mut metadata = Metadata::new()
        .title(meta.title.clone())
        .creator("Sagaflow".to_owned())
        .keywords(meta.keywords.clone());
    if let Some(author) = &meta.author {
        metadata = metadata.authors(vec![author.clone()]);
    }
    document.set_metadata(metadata);
    let family = style.family(book);
    for page_index in 0..plan.pages {
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).expect("A4 is not empty");
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        if let (Some(accent), true) = (style.accent, style.band > 0.0) {
            fill_rect(
                &mut surface,
                Some(accent),
                0.0,
                0.0,
                style.band,
                PAGE_HEIGHT,
            );
        }
        for rule in plan.rules.iter().filter(|r| r.page == page_index) {
            fill_rect(&mut surface, style.accent, rule.x, rule.y, rule.width, 0.6);
        }
        for line in plan.lines.iter().filter(|l| l.page == page_index) {
            let block = &plan.blocks[line.block];
            let setter = Setter {
                book,
                family,
                size: line.size,
            };
            set_colour(&mut surface, line.colour);
            let mut x = line.x;
            for (run, face) in setter.runs(block, line.range.clone()) {
                let text = &block.text[run];
                surface.draw_text(
                    Point::from_xy(x, line.y),
                    face.font.clone(),
                    line.size,
                    text,
                    false,
                    TextDirection::LeftToRight,
                );
                x += face.width(text, line.size);
            }
        }
        if style.page_numbers && plan.pages > 1 {
            let footer = format!("{} / {}", page_index + 1, plan.pages);
            let size = style.body_size - 2.0;
            let width = family.regular.width(&footer, size);
            set_colour(&mut surface, None);
            surface.draw_text(
                Point::from_xy((PAGE_WIDTH - width) / 2.0, PAGE_HEIGHT - style.margin / 2.0),
                family.regular.font.clone(),
                size,
                &footer,
                false,
                TextDirection::LeftToRight,
            );
        }
        surface.finish();
        page.finish();
    }
    let bytes = document
        .finish()
        .map_err(|e| Error::Pdf(format!("{e:?}")))?;
    if bytes.len() > crate::export::MAX_PDF_BYTES {
        return Err(Error::Pdf(format!(
            "the PDF is {} bytes, over the {} byte limit",
            bytes.len(),
            crate::export::MAX_PDF_BYTES
        )));
    }
    Ok(bytes)
}

/// The layout pass: every line and rule on its page.
fn place(book: &FontBook, style: &Style, meta: &Meta, content: &str) -> Plan {
    // Block 0 is the bullet mark list items are drawn with; block 1 the title.
    let mut blocks = vec![
        Block {
            kind: Kind::Paragraph,
            text: BULLET.to_owned(),
            bold: Vec::new(),
        },
        Block {
            kind: Kind::Heading(0),
            text: meta.heading.clone(),
            bold: Vec::new(),
        },
    ];
    blocks.extend(blocks::parse(content));
    let family = style.family(book);
    let left = style.margin + style.band;
    let right = PAGE_WIDTH - style.margin;
    let bottom = PAGE_HEIGHT - style.margin;
    let mut plan = Plan {
        blocks: Vec::new(),
        lines: Vec::new(),
        rules: Vec::new(),
        pages: 1,
    };
    let mut y = style.margin;
    for (index, block) in blocks.iter().enumerate().skip(1) {
        let (size, indent, gap_before, colour) = match block.kind {
            Kind::Heading(0) => (style.title_size, 0.0, 0.0, style.accent),
            Kind::Heading(level) => (style.heading_size(level), 0.0, 0.9, style.accent),
            Kind::Paragraph => (style.body_size, 0.0, 0.55, None),
            Kind::Bullet(depth) => (style.body_size, 14.0 * f32::from(depth), 0.2, None),
        };
        let setter = Setter { book, family, size };
        let line_height = size * style.leading;
        let x = left + indent;
        let ranges = setter.wrap(block, right - x);
        // A heading keeps its first two lines of what follows on its page.
        let needed = match block.kind {
            Kind::Heading(_) => {
                line_height * (ranges.len() as f32) + 2.0 * style.body_size * style.leading
            }
            _ => line_height,
        };
        if index > 1 {
            y += gap_before * style.body_size * style.leading;
        }
        if y + needed > bottom && y > style.margin {
            plan.pages += 1;
            y = style.margin;
        }
        for (line_index, range) in ranges.into_iter().enumerate() {
            if y + line_height > bottom {
                plan.pages += 1;
                y = style.margin;
            }
            y += line_height;
            let baseline = y - (style.leading - 1.0) * size;
            let page = plan.pages - 1;
            let centred = block.kind == Kind::Heading(0) && style.centred_title;
            let line_x = if centred {
                (left + right - setter.width(block, range.clone())) / 2.0
            } else {
                x
            };
            if line_index == 0 && matches!(block.kind, Kind::Bullet(_)) {
                plan.lines.push(Placed {
                    page,
                    x: x - 10.0,
                    y: baseline,
                    block: 0,
                    range: 0..BULLET.len(),
                    size,
                    colour: style.accent,
                });
            }
            plan.lines.push(Placed {
                page,
                x: line_x,
                y: baseline,
                block: index,
                range,
                size,
                colour,
            });
        }
        if style.ruled_headings && matches!(block.kind, Kind::Heading(1 | 2)) {
            plan.rules.push(Rule {
                page: plan.pages - 1,
                x: left,
                y: y + 1.0,
                width: right - left,
            });
        }
    }
    plan.blocks = blocks;
    plan
}

#[cfg(test)]
mod tests {
    //! These read the PDFs back with poppler's `pdftotext` and `pdfinfo`
    //! (`infra/dev/fonts.sh` installs them and a CJK font).
    use std::process::Command;

    use super::*;

    const CV: &str = "# Łukasz Żółkiewski\n\n\
        Straße der Einheit 5, Größenwahn GmbH, Müller & Söhne\n\n\
        ## Ελληνικά\n\nΝίκος Παπαδόπουλος, μηχανικός λογισμικού\n\n\
        ## 日本語\n\n山田太郎はソフトウェアエンジニアです。東京で**Rust**とKafkaを使っています。\n\n\
        - Rust, Kafka, PostgreSQL\n- Zażółć gęślą jaźń\n";

    fn poppler(tool: &str, pdf: &[u8], extra: &[&str]) -> String {
        let dir = std::env::temp_dir().join(format!("sagaflow-pdf-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("doc.pdf");
        std::fs::write(&path, pdf).expect("write");
        let output = Command::new(tool)
            .args(extra)
            .arg(&path)
            .args((tool == "pdftotext").then_some("-"))
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {tool} ({e}): run infra/dev/fonts.sh to install poppler-utils")
            });
        if let Ok(keep) = std::env::var("SAGAFLOW_KEEP_PDF") {
            std::fs::copy(&path, format!("{keep}-{}.pdf", uuid::Uuid::now_v7())).ok();
        }
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            output.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8")
    }

    fn meta() -> Meta {
        Meta {
            heading: "Resume".into(),
            title: "Resume for Platform Engineer at Żabka \u{2014} Łukasz Żółkiewski".into(),
            author: Some("Łukasz Żółkiewski".into()),
            keywords: vec!["Rust".into(), "Kafka".into()],
        }
    }

    #[test]
    fn polish_german_greek_and_japanese_come_back_out_of_every_layout() {
        let fonts = FontBook::shared();
        assert!(
            !fonts.fallbacks.is_empty(),
            "no CJK font at {:?}: run infra/dev/fonts.sh",
            fonts::SYSTEM_FALLBACKS
        );
        for layout in Layout::ALL {
            let pdf = render(&fonts, layout, &meta(), CV).expect("renders");
            let text = poppler("pdftotext", &pdf, &["-enc", "UTF-8"]);
            for expected in [
                "Łukasz Żółkiewski",
                "Straße der Einheit 5, Größenwahn GmbH, Müller & Söhne",
                "Νίκος Παπαδόπουλος, μηχανικός λογισμικού",
                "山田太郎はソフトウェアエンジニアです。",
                "Zażółć gęślą jaźń",
            ] {
                assert!(
                    text.contains(expected),
                    "{layout:?} lacks {expected}:\n{text}"
                );
            }
            assert!(!text.contains('?'), "{layout:?}: {text}");
            let info = poppler("pdfinfo", &pdf, &["-enc", "UTF-8"]);
            assert!(
                info.contains("Resume for Platform Engineer at Żabka"),
                "{info}"
            );
            assert!(
                info.contains("Author:          Łukasz Żółkiewski"),
                "{info}"
            );
            assert!(info.contains("Rust"), "{info}");
            assert!(info.contains("Pages:           1"), "{info}");
        }
    }

    #[test]
    fn resumes_take_one_or_two_pages_with_numbered_pages() {
        let fonts = FontBook::shared();
        let role = "- Built event-sourced saga orchestration on Kafka and PostgreSQL for checkout, \
                    with idempotent compensations and an outbox relay.\n";
        let one = format!("# Ada Lovelace\n\n## Experience\n\n{}", role.repeat(8));
        let two = format!("# Ada Lovelace\n\n## Experience\n\n{}", role.repeat(40));
        for layout in Layout::ALL {
            let pages = |content: &str| {
                let pdf = render(&fonts, layout, &meta(), content).expect("renders");
                let info = poppler("pdfinfo", &pdf, &[]);
                let text = poppler("pdftotext", &pdf, &["-enc", "UTF-8"]);
                (info, text)
            };
            let (info, _) = pages(&one);
            assert!(info.contains("Pages:           1"), "{layout:?}: {info}");
            let (info, text) = pages(&two);
            assert!(info.contains("Pages:           2"), "{layout:?}: {info}");
            assert_eq!(
                text.replace(' ', "").contains("2/2"),
                layout.style().page_numbers,
                "{layout:?}: {text}"
            );
        }
    }
}
