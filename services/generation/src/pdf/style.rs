//! The three layouts a document is exported in, as data: the family, sizes, margins,
//! colours and decorations each uses.

use super::fonts::{Family, FontBook};

/// A PDF layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// One column, sans serif, no colour, no header or footer: what applicant tracking
    /// systems parse best.
    AtsPlain,
    /// Serif, centred title, ruled section headings, page numbers.
    Classic,
    /// Sans serif with an accent colour: a side band, coloured title and headings,
    /// page numbers.
    Modern,
}

/// An RGB colour.
pub type Rgb = (u8, u8, u8);

/// How a layout sets a page.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub serif: bool,
    pub body_size: f32,
    pub title_size: f32,
    /// Line height as a multiple of the font size.
    pub leading: f32,
    pub margin: f32,
    pub accent: Option<Rgb>,
    pub centred_title: bool,
    pub ruled_headings: bool,
    /// Width of the accent band along the left edge (0 for none).
    pub band: f32,
    pub page_numbers: bool,
}

impl Layout {
    /// Every layout.
    pub const ALL: [Layout; 3] = [Layout::AtsPlain, Layout::Classic, Layout::Modern];

    pub fn style(self) -> Style {
        match self {
            Self::AtsPlain => Style {
                serif: false,
                body_size: 10.5,
                title_size: 16.0,
                leading: 1.4,
                margin: 54.0,
                accent: None,
                centred_title: false,
                ruled_headings: false,
                band: 0.0,
                page_numbers: false,
            },
            Self::Classic => Style {
                serif: true,
                body_size: 11.0,
                title_size: 18.0,
                leading: 1.35,
                margin: 62.0,
                accent: None,
                centred_title: true,
                ruled_headings: true,
                band: 0.0,
                page_numbers: true,
            },
            Self::Modern => Style {
                serif: false,
                body_size: 10.0,
                title_size: 20.0,
                leading: 1.45,
                margin: 56.0,
                accent: Some((0x1d, 0x5f, 0xa8)),
                centred_title: false,
                ruled_headings: false,
                band: 10.0,
                page_numbers: true,
            },
        }
    }
}

impl Style {
    pub fn family<'a>(&self, book: &'a FontBook) -> &'a Family {
        if self.serif { &book.serif } else { &book.sans }
    }

    /// The size of a heading of `level` (1 is the largest).
    pub fn heading_size(&self, level: u8) -> f32 {
        match level {
            1 => self.body_size + 3.0,
            2 => self.body_size + 1.5,
            _ => self.body_size + 0.5,
        }
    }
}
