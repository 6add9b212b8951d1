//! Progress of long runs on standard error: a bar redrawn in place when standard error is a
//! terminal, otherwise a log line every few seconds (batch schedulers keep logs, not terminals).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often a terminal bar is redrawn.
const REDRAW: Duration = Duration::from_millis(200);

/// How often a progress line is logged when standard error is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Progress of one long run, counted in `unit`s.
pub struct Progress {
    what: &'static str,
    unit: &'static str,
    started: Instant,
    last: Instant,
    terminal: bool,
    drawn: bool,
}

impl Progress {
    /// Starts reporting `what` (e.g. "scoring"), counted in `unit` (e.g. "rows").
    pub fn new(what: &'static str, unit: &'static str) -> Self {
        let now = Instant::now();
        Self {
            what,
            unit,
            started: now,
            last: now,
            terminal: std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    /// `done` units so far, `fraction` of the whole (when known). Cheap to call often: it shows
    /// something only every [`REDRAW`] (terminal) or [`LOG_EVERY`] (log).
    pub fn update(&mut self, done: u64, fraction: Option<f64>) {
        let now = Instant::now();
        let every = if self.terminal { REDRAW } else { LOG_EVERY };
        if now.duration_since(self.last) < every {
            return;
        }
        self.last = now;
        self.show(done, fraction);
    }

    /// The final count; ends the terminal bar's line.
    pub fn finish(&mut self, done: u64) {
        if self.drawn {
            self.show(done, Some(1.0));
            eprintln!();
            self.drawn = false;
        }
    }

    fn show(&mut self, done: u64, fraction: Option<f64>) {
        let line = self.line(done, fraction, self.started.elapsed());
        if self.terminal {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{line}\x1b[K");
            let _ = err.flush();
            self.drawn = true;
        } else {
            tracing::info!("{line}");
        }
    }

    /// E.g. `scoring  42% [########            ] 4200000 rows, 3.4 M rows/s, about 2 s left`.
    fn line(&self, done: u64, fraction: Option<f64>, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
        let speed = if rate >= 1e6 {
            format!("{:.1} M {}/s", rate / 1e6, self.unit)
        } else {
            format!("{:.0} {}/s", rate, self.unit)
        };
        match fraction.map(|f| f.clamp(0.0, 1.0)) {
            Some(f) => {
                const WIDTH: usize = 20;
                let filled = (f * WIDTH as f64).round() as usize;
                let left = if f > 0.0 { secs * (1.0 - f) / f } else { 0.0 };
                format!(
                    "{} {:>3.0}% [{}{}] {done} {}, {speed}, about {left:.0} s left",
                    self.what,
                    f * 100.0,
                    "#".repeat(filled),
                    " ".repeat(WIDTH - filled),
                    self.unit,
                )
            }
            None => format!("{} {done} {}, {speed}", self.what, self.unit),
        }
    }
}

impl Drop for Progress {
    /// A run that stops early (an error) ends the bar's line, so what follows starts on its own.
    fn drop(&mut self) {
        if self.drawn {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_shows_share_rate_and_time_left() {
        let p = Progress::new("scoring", "rows");
        let line = p.line(4_000_000, Some(0.4), Duration::from_secs(2));
        assert_eq!(
            line,
            "scoring  40% [########            ] 4000000 rows, 2.0 M rows/s, about 3 s left"
        );
        let line = p.line(1_500, None, Duration::from_secs(3));
        assert_eq!(line, "scoring 1500 rows, 500 rows/s");
        // A share above 1 (an estimate from bytes read) is shown as done.
        assert!(p
            .line(10, Some(1.2), Duration::from_secs(1))
            .contains("100% [####"));
    }
}
