//! The streaming page and its vendored chart library (uPlot, MIT; see `assets/README.md`),
//! embedded in the binary so that the page works offline.

/// The page: queries, their charts, DStream batches; polls the JSON API every second.
pub(super) const PAGE: &str = include_str!("page.html");

/// uPlot's built script.
pub(super) const UPLOT_JS: &str = include_str!("assets/uPlot.iife.min.js");

/// uPlot's style sheet.
pub(super) const UPLOT_CSS: &str = include_str!("assets/uPlot.min.css");
