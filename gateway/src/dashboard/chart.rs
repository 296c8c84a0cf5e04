//! Small charts drawn as inline SVG on the server: horizontal bars for comparing stages and
//! lines for a figure over time. They scale with the page (a `viewBox` and no fixed width)
//! and carry their numbers as text, so they read on a phone and print cleanly.

use std::fmt::Write as _;

use maud::Markup;

use super::view::raw;

/// One series of values: its name and its CSS class (colour).
#[derive(Debug, Clone, Copy)]
pub struct Series {
    /// Shown in the legend.
    pub name: &'static str,
    /// `a` or `b`: the colours the stylesheet gives.
    pub class: &'static str,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `text` cut to `max` characters with an ellipsis, for labels in a fixed margin.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{}\u{2026}", cut.trim_end())
}

/// The opening of a chart of `width` x `height` user units, named `title` for screen readers.
fn open_svg(title: &str, width: f64, height: f64) -> String {
    let title = escape(title);
    format!(
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{title}">{}"#,
        format_args!("<title>{title}</title>")
    )
}

fn legend(svg: &mut String, series: &[Series], y: f64) {
    let mut x = 0.0;
    for s in series {
        let _ = write!(
            svg,
            concat!(
                r#"<rect class="{}" x="{x}" y="{}" width="12" height="12"/>"#,
                r#"<text x="{}" y="{}">{}</text>"#
            ),
            s.class,
            y - 10.0,
            x + 16.0,
            y,
            escape(s.name),
            x = x
        );
        x += 24.0 + 8.0 * f64::from(u32::try_from(s.name.len()).unwrap_or(20));
    }
}

/// Horizontal bars: one group per row, one bar per series, each labelled with `label(value)`.
pub fn bars(
    title: &str,
    rows: &[(String, Vec<f64>)],
    series: &[Series],
    label: impl Fn(f64) -> String,
) -> Markup {
    const WIDTH: f64 = 480.0;
    const LEFT: f64 = 150.0;
    const BAR: f64 = 14.0;
    let max = rows.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0_f64, f64::max);
    let group = BAR * f64::from(u32::try_from(series.len()).unwrap_or(1)) + 10.0;
    let height = 28.0 + group * f64::from(u32::try_from(rows.len()).unwrap_or(0));
    let mut svg = open_svg(title, WIDTH, height);
    legend(&mut svg, series, 14.0);
    for (i, (name, values)) in rows.iter().enumerate() {
        let top = 28.0 + group * f64::from(u32::try_from(i).unwrap_or(0));
        let _ = write!(
            svg,
            r#"<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>"#,
            LEFT - 8.0,
            top + group / 2.0,
            escape(&shorten(name, 22))
        );
        for (j, (value, s)) in values.iter().zip(series).enumerate() {
            let y = top + BAR * f64::from(u32::try_from(j).unwrap_or(0));
            let width = if max > 0.0 { (WIDTH - LEFT - 80.0) * value / max } else { 0.0 };
            let _ = write!(
                svg,
                concat!(
                    r#"<rect class="{}" x="{LEFT}" y="{y}" width="{width:.1}" height="{}"/>"#,
                    r#"<text x="{:.1}" y="{:.1}">{}</text>"#
                ),
                s.class,
                BAR - 2.0,
                LEFT + width + 4.0,
                y + BAR - 4.0,
                escape(&label(*value)),
                LEFT = LEFT,
                y = y,
                width = width
            );
        }
    }
    svg.push_str("</svg>");
    raw(svg)
}

/// Lines over labelled points; a `None` leaves a gap. `reference` draws a dashed level (a
/// loss band's warning line, say).
pub fn lines(
    title: &str,
    points: &[String],
    series: &[(Series, Vec<Option<f64>>)],
    reference: Option<(f64, &str)>,
    label: impl Fn(f64) -> String,
) -> Markup {
    const WIDTH: f64 = 480.0;
    const HEIGHT: f64 = 200.0;
    const LEFT: f64 = 56.0;
    const TOP: f64 = 28.0;
    const BOTTOM: f64 = 30.0;
    let values = series.iter().flat_map(|(_, v)| v.iter().flatten().copied());
    let max = values.chain(reference.map(|r| r.0)).fold(0.0_f64, f64::max).max(f64::EPSILON);
    let count = f64::from(u32::try_from(points.len().max(2) - 1).unwrap_or(1));
    let x_of =
        |i: usize| LEFT + (WIDTH - LEFT - 10.0) * f64::from(u32::try_from(i).unwrap_or(0)) / count;
    let y_of = |v: f64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - v / max);
    let mut svg = open_svg(title, WIDTH, HEIGHT);
    let names: Vec<Series> = series.iter().map(|(s, _)| *s).collect();
    legend(&mut svg, &names, 14.0);
    for v in [0.0, max / 2.0, max] {
        let _ = write!(
            svg,
            concat!(
                r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/>"#,
                r#"<text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#
            ),
            WIDTH - 10.0,
            LEFT - 6.0,
            y_of(v) + 4.0,
            escape(&label(v)),
            y = y_of(v),
            LEFT = LEFT
        );
    }
    if let Some((level, name)) = reference {
        let _ = write!(
            svg,
            concat!(
                r#"<line class="reference" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/>"#,
                r#"<text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#
            ),
            WIDTH - 10.0,
            WIDTH - 10.0,
            y_of(level) - 4.0,
            escape(name),
            y = y_of(level),
            LEFT = LEFT
        );
    }
    let step = points.len().div_ceil(8).max(1);
    for (i, point) in points.iter().enumerate().filter(|(i, _)| i % step == 0) {
        let _ = write!(
            svg,
            r#"<text class="axis" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x_of(i),
            HEIGHT - 8.0,
            escape(point)
        );
    }
    for (s, values) in series {
        let mut path = String::new();
        let mut pen_down = false;
        for (i, value) in values.iter().enumerate() {
            match value {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        x_of(i),
                        y_of(*v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(svg, r#"<path class="line {}" d="{}"/>"#, s.class, path.trim_end());
        for (i, value) in values.iter().enumerate() {
            if let Some(v) = value {
                let _ = write!(
                    svg,
                    concat!(
                        r#"<circle class="{}" cx="{:.1}" cy="{:.1}" r="3">"#,
                        "<title>{}: {}</title></circle>"
                    ),
                    s.class,
                    x_of(i),
                    y_of(*v),
                    escape(&points[i]),
                    escape(&label(*v))
                );
            }
        }
    }
    svg.push_str("</svg>");
    raw(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale_to_the_largest() {
        let series = [Series { name: "median", class: "a" }];
        let svg = bars("t", &[("<b>".into(), vec![2.0]), ("x".into(), vec![1.0])], &series, |v| {
            format!("{v} h")
        })
        .into_string();
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains(r#"width="250.0""#), "the largest bar fills the width: {svg}");
        assert!(svg.contains(r#"width="125.0""#), "half the value, half the bar: {svg}");
    }

    #[test]
    fn missing_points_break_the_line() {
        let series = [(Series { name: "gold", class: "a" }, vec![Some(1.0), None, Some(2.0)])];
        let svg =
            lines("t", &["a".into(), "b".into(), "c".into()], &series, None, |v| v.to_string())
                .into_string();
        let path = svg.split(r#"d=""#).nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert!(!path.contains('L'), "{path}");
    }
}
