//! A document's Markdown as the blocks a PDF lays out: headings, paragraphs and list
//! items, each a text with its bold ranges. Parsed by pulldown-cmark; a line break in
//! the source stays a line break (a letter's "Kind regards,\nAda" is two lines), links
//! keep their text, and anything else inline (code, emphasis) is plain text.

use std::ops::Range;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

/// What a block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A heading of level 1 to 6.
    Heading(u8),
    Paragraph,
    /// A list item nested `depth` lists deep (1 for a top-level item).
    Bullet(u8),
}

/// One block: its text and the byte ranges of it set in bold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: Kind,
    pub text: String,
    pub bold: Vec<Range<usize>>,
}

impl Block {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            text: String::new(),
            bold: Vec::new(),
        }
    }

    /// Whether the byte at `at` is bold (headings are bold throughout).
    pub fn is_bold(&self, at: usize) -> bool {
        matches!(self.kind, Kind::Heading(_)) || self.bold.iter().any(|r| r.contains(&at))
    }
}

/// The blocks of `markdown`, empty ones dropped.
pub fn parse(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    let mut depth = 0_u8;
    let mut bold_from: Option<usize> = None;
    let flush = |current: &mut Option<Block>, blocks: &mut Vec<Block>| {
        if let Some(mut block) = current.take() {
            let trimmed = block.text.trim_end().len();
            block.text.truncate(trimmed);
            if !block.text.trim().is_empty() {
                blocks.push(block);
            }
        }
    };
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut current, &mut blocks);
                current = Some(Block::new(Kind::Heading(level as u8)));
            }
            // A paragraph inside a list item continues the item.
            Event::Start(Tag::Paragraph) if current.is_none() => {
                current = Some(Block::new(Kind::Paragraph));
            }
            Event::Start(Tag::List(_)) => {
                flush(&mut current, &mut blocks);
                depth = depth.saturating_add(1);
            }
            Event::End(TagEnd::List(_)) => {
                flush(&mut current, &mut blocks);
                depth = depth.saturating_sub(1);
            }
            Event::Start(Tag::Item) => {
                flush(&mut current, &mut blocks);
                current = Some(Block::new(Kind::Bullet(depth.max(1))));
            }
            Event::End(TagEnd::Heading(_) | TagEnd::Paragraph | TagEnd::Item) => {
                flush(&mut current, &mut blocks);
            }
            Event::Start(Tag::Strong) => {
                bold_from = current.as_ref().map(|block| block.text.len());
            }
            Event::End(TagEnd::Strong) => {
                if let (Some(block), Some(from)) = (current.as_mut(), bold_from.take()) {
                    let to = block.text.len();
                    block.bold.push(from..to);
                }
            }
            Event::Text(text) | Event::Code(text) => {
                current
                    .get_or_insert_with(|| Block::new(Kind::Paragraph))
                    .text
                    .push_str(&text);
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(block) = current.as_mut() {
                    block.text.push('\n');
                }
            }
            Event::Rule => flush(&mut current, &mut blocks),
            _ => {}
        }
    }
    flush(&mut current, &mut blocks);
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_paragraphs_bullets_and_bold() {
        let blocks = parse(
            "# Ada Lovelace\n\nDear team,\nI write **to apply**.\n\n- Rust\n- Kafka\n  - rdkafka\n",
        );
        let kinds: Vec<Kind> = blocks.iter().map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            vec![
                Kind::Heading(1),
                Kind::Paragraph,
                Kind::Bullet(1),
                Kind::Bullet(1),
                Kind::Bullet(2)
            ]
        );
        assert_eq!(blocks[1].text, "Dear team,\nI write to apply.");
        let bold = &blocks[1].bold[0];
        assert_eq!(&blocks[1].text[bold.clone()], "to apply");
        assert!(blocks[1].is_bold(bold.start) && !blocks[1].is_bold(0));
        assert_eq!(blocks[4].text, "rdkafka");
    }

    #[test]
    fn links_keep_their_text() {
        let blocks = parse("See [my site](https://example.com).");
        assert_eq!(blocks[0].text, "See my site.");
    }
}
