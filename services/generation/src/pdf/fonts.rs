//! The fonts a PDF is set in. DejaVu Sans and Serif are compiled in (the `dejavu`
//! crate) and cover Latin, Greek and Cyrillic; characters they lack (Japanese,
//! Chinese, Korean...) fall back, in order, to the fonts the service is configured
//! with (`GENERATION_PDF_FONTS`) or, when none is, to the CJK fonts found at the usual
//! system paths. Widths come from each font's own metrics, so lines wrap by glyph
//! width ([`super::lines`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use krilla::text::Font;
use skrifa::prelude::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

use crate::error::Error;

/// CJK fonts used as fallbacks when none is configured, where the system has them
/// (Debian's `fonts-noto-cjk` and `fonts-ipafont-gothic`, and their Fedora and Arch
/// homes).
pub const SYSTEM_FALLBACKS: [&str; 5] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
];

/// The bytes of a font: compiled in or read from a file.
#[derive(Clone)]
enum Bytes {
    Static(&'static [u8]),
    Owned(Arc<Vec<u8>>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Static(bytes) => bytes,
            Self::Owned(bytes) => bytes,
        }
    }
}

/// One font face: its bytes (for metrics and coverage) and krilla's handle (for
/// drawing and embedding, subset to the glyphs used).
#[derive(Clone)]
pub struct Face {
    bytes: Bytes,
    pub(super) font: Font,
}

impl Face {
    fn new(bytes: Bytes) -> Option<Self> {
        FontRef::from_index(bytes.as_slice(), 0).ok()?;
        let data: krilla::Data = match &bytes {
            Bytes::Static(b) => (*b).into(),
            Bytes::Owned(b) => b.clone().into(),
        };
        let font = Font::new(data, 0)?;
        Some(Self { bytes, font })
    }

    fn font_ref(&self) -> FontRef<'_> {
        FontRef::from_index(self.bytes.as_slice(), 0).expect("checked when loaded")
    }

    /// Whether the face has a glyph for `c`.
    pub fn covers(&self, c: char) -> bool {
        self.font_ref().charmap().map(c).is_some()
    }

    /// The advance of `text` at `size` points (missing glyphs count as `.notdef`).
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let font = self.font_ref();
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::new(size), LocationRef::default());
        text.chars()
            .map(|c| {
                let glyph = charmap.map(c).unwrap_or_default();
                metrics.advance_width(glyph).unwrap_or(0.0)
            })
            .sum()
    }
}

/// A family: its regular and bold faces.
#[derive(Clone)]
pub struct Family {
    pub regular: Face,
    pub bold: Face,
}

impl Family {
    fn compiled(regular: &'static [u8], bold: &'static [u8]) -> Self {
        let face = |bytes| Face::new(Bytes::Static(bytes)).expect("DejaVu is a valid font");
        Self {
            regular: face(regular),
            bold: face(bold),
        }
    }

    pub fn face(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }
}

/// Every font a PDF may use.
#[derive(Clone)]
pub struct FontBook {
    pub sans: Family,
    pub serif: Family,
    /// Tried in order for a character the family lacks.
    pub fallbacks: Vec<Face>,
}

static DEFAULT: LazyLock<Arc<FontBook>> = LazyLock::new(|| Arc::new(FontBook::system()));

impl FontBook {
    /// DejaVu plus the fallbacks in `paths`; an unreadable or invalid file is an
    /// error naming it.
    pub fn with_fallbacks(paths: &[PathBuf]) -> Result<Self, Error> {
        let fallbacks = paths
            .iter()
            .map(|path| load(path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(fallbacks))
    }

    /// DejaVu plus whichever [`SYSTEM_FALLBACKS`] exist here (read once per process).
    pub fn shared() -> Arc<Self> {
        DEFAULT.clone()
    }

    fn system() -> Self {
        let fallbacks = SYSTEM_FALLBACKS
            .iter()
            .map(Path::new)
            .filter(|path| path.is_file())
            .filter_map(|path| match load(path) {
                Ok(face) => Some(face),
                Err(err) => {
                    tracing::warn!(error = %err, "skipping a system font");
                    None
                }
            })
            .collect();
        Self::new(fallbacks)
    }

    fn new(fallbacks: Vec<Face>) -> Self {
        Self {
            sans: Family::compiled(dejavu::sans::regular(), dejavu::sans::bold()),
            serif: Family::compiled(dejavu::serif::regular(), dejavu::serif::bold()),
            fallbacks,
        }
    }

    /// The face that draws `c` in `family`: the family's own when it has the glyph,
    /// else the first fallback that has it, else the family's (`.notdef`).
    pub fn face_for<'a>(&'a self, family: &'a Family, bold: bool, c: char) -> &'a Face {
        let own = family.face(bold);
        if c.is_whitespace() || own.covers(c) {
            return own;
        }
        self.fallbacks
            .iter()
            .find(|face| face.covers(c))
            .unwrap_or(own)
    }
}

fn load(path: &Path) -> Result<Face, Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Pdf(format!("cannot read the font {}: {e}", path.display())))?;
    Face::new(Bytes::Owned(Arc::new(bytes))).ok_or_else(|| {
        Error::Pdf(format!(
            "{} is not a TrueType or OpenType font (or collection)",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dejavu_covers_european_scripts_and_measures_by_glyph() {
        let book = FontBook::with_fallbacks(&[]).expect("compiled in");
        for c in ['Ł', 'ß', 'Ω', 'Ж', 'é'] {
            assert!(book.sans.regular.covers(c), "{c}");
        }
        assert!(!book.sans.regular.covers('日'));
        let face = &book.sans.regular;
        assert!(face.width("WWWW", 10.0) > 2.0 * face.width("iiii", 10.0));
        assert!((face.width("ab", 20.0) - 2.0 * face.width("ab", 10.0)).abs() < 0.01);
    }

    #[test]
    fn a_missing_font_file_is_named() {
        let err = FontBook::with_fallbacks(&[PathBuf::from("/nonexistent/font.ttf")])
            .err()
            .expect("refused");
        assert!(err.to_string().contains("/nonexistent/font.ttf"), "{err}");
    }
}
