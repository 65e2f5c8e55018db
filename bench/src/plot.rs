//! PNG plots of a report: `<workload>_throughput.png`, records per second per engine.

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
