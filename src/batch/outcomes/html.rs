//! The report as one self-contained HTML page: the verdicts, an inline SVG chart of the
//! reduction and its interval per action, the table, coverage and method.

use std::fmt::Write;

use super::report::{cells, coverage, name, pp, rows, verdict, COLUMNS, METHOD};
use super::stats::{Estimate, Lift};
use super::Measured;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Backticks of the Markdown verdicts become `<code>`.
fn inline_code(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// The reduction and its interval per row as horizontal bars with whiskers.
fn chart(m: &Measured) -> String {
    let measured: Vec<(&Lift, Estimate)> =
        rows(m).filter_map(|l| Some((l, l.reduction()?))).collect();
    if measured.is_empty() {
        return String::new();
    }
    let (lo, hi) = measured.iter().fold((0.0f64, 0.0f64), |(lo, hi), (_, r)| {
        (lo.min(r.low), hi.max(r.high))
    });
    let (lo, hi) = (lo * 100.0 - 0.5, hi * 100.0 + 0.5);
    let (left, width, row_h) = (170.0, 440.0, 30.0);
    let x = |share: f64| left + (share * 100.0 - lo) / (hi - lo) * width;
    let height = row_h * measured.len() as f64 + 40.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"Reduction in churn per action with its 95% interval\">\n",
        left + width + 20.0
    );
    for (i, (l, r)) in measured.iter().enumerate() {
        let y = 10.0 + row_h * i as f64;
        let colour = if l.too_small() || (r.low <= 0.0 && r.high >= 0.0) {
            "#9e9e9e"
        } else if r.value > 0.0 {
            "#2e7d32"
        } else {
            "#c62828"
        };
        let (x0, x1) = (x(0.0).min(x(r.value)), x(0.0).max(x(r.value)));
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"13\">{}</text>\n\
             <rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"16\" fill=\"{colour}\"/>\n\
             <line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#212121\" stroke-width=\"1.5\"/>\n\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"11\">{} pp</text>",
            left - 8.0,
            y + 13.0,
            escape(name(l)),
            y + 2.0,
            (x1 - x0).max(1.0),
            x(r.low),
            x(r.high),
            y + 10.0,
            y + 10.0,
            x(r.high) + 4.0,
            y + 14.0,
            pp(r.value)
        );
    }
    let axis = height - 28.0;
    let _ = writeln!(
        s,
        "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"4\" y2=\"{axis}\" stroke=\"#212121\"/>\n\
         <text x=\"{0:.1}\" y=\"{1}\" text-anchor=\"middle\" font-size=\"11\">0</text>\n\
         <text x=\"{left}\" y=\"{1}\" font-size=\"11\">{2:.1} pp</text>\n\
         <text x=\"{3}\" y=\"{1}\" text-anchor=\"end\" font-size=\"11\">{4:.1} pp</text>\n</svg>",
        x(0.0),
        axis + 16.0,
        lo,
        left + width,
        hi
    );
    s
}

/// The report as one self-contained HTML page (inline style and SVG, no external resource).
pub fn page(m: &Measured) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Campaign {0}: measured lift</title>\n\
         <style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#212121}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #bdbdbd;padding:.3em .6em}}\
         td:not(:first-child){{text-align:right}}tr.total{{font-weight:bold}}</style>\n</head>\n<body>\n\
         <h1>Campaign <code>{0}</code>: what it did against its control group</h1>\n",
        escape(&m.campaign)
    );
    let _ = writeln!(
        s,
        "<p>{}</p>\n<ul>",
        inline_code(&verdict(&m.campaign_lift))
    );
    for l in &m.per_action {
        let _ = writeln!(s, "<li>{}</li>", inline_code(&verdict(l)));
    }
    s.push_str("</ul>\n<h2>Reduction in churn (percentage points, 95% interval)</h2>\n");
    s.push_str(&chart(m));
    s.push_str("<h2>Figures</h2>\n<table>\n<tr>");
    for c in COLUMNS {
        let _ = write!(s, "<th>{c}</th>");
    }
    s.push_str("</tr>\n");
    for l in rows(m) {
        let class = if l.action.is_none() {
            " class=\"total\""
        } else {
            ""
        };
        let _ = write!(s, "<tr{class}>");
        for c in cells(l) {
            let _ = write!(s, "<td>{}</td>", escape(&c));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n<h2>Coverage</h2>\n<ul>\n");
    for line in coverage(m) {
        let _ = writeln!(s, "<li>{}</li>", inline_code(&line));
    }
    s.push_str("</ul>\n<h2>Method</h2>\n<ul>\n");
    for line in METHOD {
        let _ = writeln!(s, "<li>{}</li>", escape(line));
    }
    s.push_str("</ul>\n</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::outcomes::Tally;

    fn lift(action: &str, targeted: (u64, u64), control: (u64, u64)) -> Lift {
        let tally = |(customers, churned)| Tally { customers, churned };
        Lift {
            action: Some(action.into()),
            targeted: tally(targeted),
            control: tally(control),
            ..Lift::default()
        }
    }

    #[test]
    fn outcomes_html_is_escaped_and_self_contained() {
        let m = Measured {
            audit: None,
            campaign: "<b>&".into(),
            decisions_file: "plan.csv".into(),
            decisions: [1, 1, 0],
            no_outcome: [0; 3],
            unmatched_outcomes: 0,
            control_without_action: 0,
            per_action: vec![lift("fee<waiver>", (100, 10), (100, 20))],
            campaign_lift: Lift {
                action: None,
                ..lift("", (100, 10), (100, 20))
            },
        };
        let page = page(&m);
        assert!(page.contains("<code>&lt;b&gt;&amp;</code>"));
        assert!(page.contains("fee&lt;waiver&gt;") && !page.contains("fee<waiver>"));
        assert!(page.contains("<svg") && !page.contains("src=") && !page.contains("href="));
    }
}
