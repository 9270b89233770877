//! Breaking a block into lines that fit a width, measured glyph by glyph in the faces
//! that will draw them. Break opportunities follow Unicode's line-breaking algorithm
//! (UAX #14, the `unicode-linebreak` crate): between words, after hyphens, between
//! CJK characters; a line break in the text is kept; a word wider than the line is
//! split between characters.

use std::ops::Range;

use unicode_linebreak::{BreakOpportunity, linebreaks};

use super::blocks::Block;
use super::fonts::{Face, Family, FontBook};

/// Sets text of one family at one size: which face draws which characters, and how
/// wide they are.
pub struct Setter<'a> {
    pub book: &'a FontBook,
    pub family: &'a Family,
    pub size: f32,
}

impl<'a> Setter<'a> {
    /// `range` of `block` as runs drawn by one face each.
    pub fn runs(&self, block: &Block, range: Range<usize>) -> Vec<(Range<usize>, &'a Face)> {
        let mut runs: Vec<(Range<usize>, &'a Face)> = Vec::new();
        for (offset, c) in block.text[range.clone()].char_indices() {
            let at = range.start + offset;
            let face = self.book.face_for(self.family, block.is_bold(at), c);
            let end = at + c.len_utf8();
            match runs.last_mut() {
                Some((run, last)) if std::ptr::eq(*last, face) => run.end = end,
                _ => runs.push((at..end, face)),
            }
        }
        runs
    }

    /// The width of `range` of `block` in points.
    pub fn width(&self, block: &Block, range: Range<usize>) -> f32 {
        self.runs(block, range)
            .into_iter()
            .map(|(run, face)| face.width(&block.text[run], self.size))
            .sum()
    }

    /// The lines of `block` no wider than `width` (byte ranges, trailing spaces
    /// trimmed).
    pub fn wrap(&self, block: &Block, width: f32) -> Vec<Range<usize>> {
        let text = block.text.as_str();
        let trim = |range: Range<usize>| range.start..range.start + text[range].trim_end().len();
        let mut lines = Vec::new();
        let mut start = 0;
        let mut segment_start = 0;
        for (end, opportunity) in linebreaks(text) {
            let segment = segment_start..end;
            segment_start = end;
            if start < segment.start && self.width(block, trim(start..end)) > width {
                lines.push(trim(start..segment.start));
                start = segment.start;
            }
            if self.width(block, trim(start..end)) > width {
                // One unbreakable word wider than the line: split between characters.
                start = self.split(block, start..end, width, &mut lines);
            }
            if opportunity == BreakOpportunity::Mandatory {
                lines.push(trim(start..end));
                start = end;
            }
        }
        lines
    }

    /// Pushes full-width pieces of `range` to `lines`; returns where the rest starts.
    fn split(
        &self,
        block: &Block,
        range: Range<usize>,
        width: f32,
        lines: &mut Vec<Range<usize>>,
    ) -> usize {
        let mut start = range.start;
        let mut last_fit = start;
        for (offset, c) in block.text[range.clone()].char_indices() {
            let end = range.start + offset + c.len_utf8();
            if self.width(block, start..end) > width && last_fit > start {
                lines.push(start..last_fit);
                start = last_fit;
            }
            last_fit = end;
        }
        start
    }
}

#[cfg(test)]
mod tests {
    use super::super::blocks::{Block, Kind};
    use super::*;

    fn block(text: &str) -> Block {
        Block {
            kind: Kind::Paragraph,
            text: text.to_owned(),
            bold: Vec::new(),
        }
    }

    fn wrapped(setter: &Setter<'_>, text: &str, width: f32) -> Vec<String> {
        let block = block(text);
        setter
            .wrap(&block, width)
            .into_iter()
            .map(|r| block.text[r].to_owned())
            .collect()
    }

    #[test]
    fn wraps_by_glyph_width_not_by_count() {
        let book = FontBook::with_fallbacks(&[]).expect("fonts");
        let setter = Setter {
            book: &book,
            family: &book.sans,
            size: 10.0,
        };
        let narrow = "iiii iiii iiii iiii iiii iiii";
        let wide = "WWWW WWWW WWWW WWWW WWWW WWWW";
        let width = setter.width(&block(narrow), 0..narrow.len()) + 1.0;
        assert_eq!(wrapped(&setter, narrow, width).len(), 1);
        let lines = wrapped(&setter, wide, width);
        assert!(lines.len() > 2, "{lines:?}");
        for line in &lines {
            assert!(setter.width(&block(line), 0..line.len()) <= width, "{line}");
        }
        assert_eq!(lines.join(" "), wide);
    }

    #[test]
    fn keeps_line_breaks_and_splits_long_words() {
        let book = FontBook::with_fallbacks(&[]).expect("fonts");
        let setter = Setter {
            book: &book,
            family: &book.serif,
            size: 10.0,
        };
        assert_eq!(
            wrapped(&setter, "Kind regards,\nAda", 500.0),
            vec!["Kind regards,", "Ada"]
        );
        let word = "x".repeat(200);
        let lines = wrapped(&setter, &word, 100.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), word);
    }
}
