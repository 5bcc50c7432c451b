//! What every plot draws with: the canvas, the bundled font, the segment colours, and the
//! PNG encoding of a finished drawing. The plots and the dendrogram both build on it, so
//! neither needs the other's internals.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::register_font;
use std::sync::OnceLock;

/// The in-memory canvas every plot draws on.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
/// What a drawing closure returns: plotters' errors, boxed.
pub(crate) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Font family name the bundled font is registered under.
pub(crate) const FONT: &str = "sans-serif";

/// Segment colours (Tableau 10), cycled past ten segments.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of DBSCAN's noise group: lighter than the palette's grey (segment 7).
const NOISE_GREY: RGBColor = RGBColor(205, 205, 205);

/// The colour of segment `s` in every plot.
pub fn segment_color(s: u32) -> RGBColor {
    PALETTE[s as usize % PALETTE.len()]
}

/// The colour of a profile's segment number: grey for noise (-1).
pub fn profile_color(segment: i32) -> RGBColor {
    u32::try_from(segment).map_or(NOISE_GREY, segment_color)
}

/// Hex code of a segment's colour, for HTML legends.
pub fn segment_hex(segment: i32) -> String {
    let c = profile_color(segment);
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Registers the bundled DejaVu font once per process (no system fonts are needed).
pub(crate) fn ensure_font() -> Result<()> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Data(
            "the bundled DejaVu font could not be loaded".into(),
        ))
    }
}

/// One rendered plot: its file name under `plots/` and PNG bytes.
pub struct Plot {
    /// File name, e.g. `elbow.png`.
    pub name: &'static str,
    /// Encoded PNG.
    pub png: Vec<u8>,
}

/// Draws `draw` on a white w×h canvas and returns the PNG.
pub(crate) fn render(
    name: &'static str,
    w: u32,
    h: u32,
    draw: impl FnOnce(&Area) -> DrawResult,
) -> Result<Plot> {
    ensure_font()?;
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw(&root).map_err(|e| Error::Data(format!("plot {name}: {e}")))?;
        root.present()
            .map_err(|e| Error::Data(format!("plot {name}: {e}")))?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut wr = enc
            .write_header()
            .map_err(|e| Error::Data(format!("plot {name}: {e}")))?;
        wr.write_image_data(&buf)
            .map_err(|e| Error::Data(format!("plot {name}: {e}")))?;
    }
    Ok(Plot {
        name,
        png: png_bytes,
    })
}
