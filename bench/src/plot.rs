//! PNG plots of a report: `<workload>_throughput.png`, records per second per engine, and for
//! the `latency` workload `latency_vs_rate.png`, latency p50 and p99 per engine against the rate.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Context};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::{rate, thousands, Report};

/// The font family every label uses, registered from the embedded DejaVu Sans.
const FONT: &str = "sans-serif";

fn register_font() -> anyhow::Result<()> {
    static REGISTER: Once = Once::new();
    let mut result = Ok(());
    REGISTER.call_once(|| {
        result = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| anyhow!("the embedded DejaVu Sans font did not load"));
    });
    result
}

/// One colour per engine family, so that Tidewater's worker counts read as one engine.
fn colour(engine: &str) -> RGBColor {
    match engine.split('-').next().unwrap_or(engine) {
        "tidewater" => RGBColor(0x1f, 0x77, 0xb4),
        "microbatch" => RGBColor(0xff, 0x7f, 0x0e),
        "loop" => RGBColor(0x2c, 0xa0, 0x2c),
        "spark" => RGBColor(0xd6, 0x27, 0x28),
        "feldera" => RGBColor(0x94, 0x67, 0xbd),
        _ => RGBColor(0x7f, 0x7f, 0x7f),
    }
}

/// Draws a bar chart of the engines' throughput (skipped engines are left out) to `path`.
pub fn throughput(report: &Report, path: &Path) -> anyhow::Result<()> {
    register_font()?;
    let bars: Vec<(&str, f64)> = report
        .engines
        .iter()
        .filter_map(|e| e.records_per_s.map(|r| (e.engine.as_str(), r)))
        .collect();
    let top = bars.iter().map(|(_, r)| *r).fold(0.0, f64::max).max(1.0) * 1.12;
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        let root = BitMapBackend::new(path, (960, 540)).into_drawing_area();
        root.fill(&WHITE)?;
        let caption = format!(
            "{}, {} records: records/s, median of runs (outputs equal: {})",
            report.workload,
            thousands(report.records),
            report.outputs_equal
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, (FONT, 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d((0..bars.len().saturating_sub(1)).into_segmented(), 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_labels(bars.len())
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => bars.get(*i).map_or(String::new(), |b| b.0.to_string()),
                _ => String::new(),
            })
            .y_desc("records/s")
            .y_label_formatter(&|v| rate(*v))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, (engine, r))| {
            let mut bar = Rectangle::new(
                [(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), *r)],
                colour(engine).filled(),
            );
            bar.set_margin(0, 0, 18, 18);
            bar
        }))?;
        let label = TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
        chart.draw_series(
            bars.iter()
                .enumerate()
                .map(|(i, (_, r))| Text::new(rate(*r), (SegmentValue::CenterOf(i), *r), label.clone())),
        )?;
        root.present()?;
        Ok(())
    };
    draw()
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("drawing {}", path.display()))
}

/// Distinct colours for the engines of the latency plot, in order of appearance.
const PALETTE: [RGBColor; 5] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0x9e, 0xc6, 0xe8),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
];

/// One engine's latency points, `(rate, p50 ms, p99 ms)`, sorted by rate.
pub type LatencySeries = (String, Vec<(f64, f64, f64)>);

/// Per engine (the part of a name before `@`), its `(rate, p50, p99)` points sorted by rate,
/// from the report's `<engine>@<rate>` rows that measured latency.
pub fn latency_series(report: &Report) -> Vec<LatencySeries> {
    let mut series: Vec<LatencySeries> = Vec::new();
    for e in &report.engines {
        let Some((engine, rate)) = e.engine.split_once('@') else {
            continue;
        };
        let (Ok(rate), Some(p50), Some(p99)) = (rate.parse::<f64>(), e.latency_p50_ms, e.latency_p99_ms)
        else {
            continue;
        };
        match series.iter_mut().find(|(name, _)| name == engine) {
            Some((_, points)) => points.push((rate, p50, p99)),
            None => series.push((engine.to_string(), vec![(rate, p50, p99)])),
        }
    }
    for (_, points) in &mut series {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    series
}

/// Whether a logarithmic axis labels `v`: 1, 2 and 5 times a power of ten, so labels do not
/// crowd the top of each decade.
fn round_label(v: f64) -> bool {
    if v <= 0.0 {
        return false;
    }
    let mantissa = v / 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().any(|m| (mantissa - m).abs() < 1e-6)
}

/// Draws each engine's latency p50 (solid) and p99 (dashed) against the input rate, both axes
/// logarithmic, to `path`.
pub fn latency_vs_rate(report: &Report, path: &Path) -> anyhow::Result<()> {
    register_font()?;
    let series = latency_series(report);
    let points = series.iter().flat_map(|(_, p)| p.iter());
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f64::MAX, 0.0f64, f64::MAX, 0.0f64);
    for &(rate, p50, p99) in points {
        x_lo = x_lo.min(rate);
        x_hi = x_hi.max(rate);
        y_lo = y_lo.min(p50.min(p99));
        y_hi = y_hi.max(p50.max(p99));
    }
    if x_hi == 0.0 {
        (x_lo, x_hi, y_lo, y_hi) = (1.0, 10.0, 1.0, 10.0);
    }
    let x_range = (x_lo / 1.5).max(1.0)..x_hi * 1.5;
    let y_range = (y_lo / 2.0).max(0.01)..y_hi * 2.0;
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        let root = BitMapBackend::new(path, (960, 540)).into_drawing_area();
        root.fill(&WHITE)?;
        let caption = format!(
            "word count from a socket, {} lines a run: latency against input rate",
            thousands(report.records)
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, (FONT, 22))
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(x_range.log_scale(), y_range.log_scale())?;
        chart
            .configure_mesh()
            .x_desc("input rate, lines/s")
            .x_label_formatter(&|v| if round_label(*v) { rate(*v) } else { String::new() })
            .y_desc("latency, ms (solid p50, dashed p99)")
            .y_label_formatter(&|v| format!("{v}"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .draw()?;
        for (i, (engine, points)) in series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(std::iter::once(PathElement::new(
                    points.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
                    colour.stroke_width(2),
                )))?
                .label(format!("{engine} p50"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
            chart.draw_series(points.iter().map(|p| Circle::new((p.0, p.1), 4, colour.filled())))?;
            chart
                .draw_series(std::iter::once(plotters::element::DashedPathElement::new(
                    points.iter().map(|p| (p.0, p.2)).collect::<Vec<_>>(),
                    8,
                    5,
                    colour.stroke_width(2),
                )))?
                .label(format!("{engine} p99"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 6, y)], colour.stroke_width(2)));
            chart.draw_series(
                points
                    .iter()
                    .map(|p| TriangleMarker::new((p.0, p.2), 5, colour.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 14))
            .draw()?;
        root.present()?;
        Ok(())
    };
    draw()
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("drawing {}", path.display()))
}
