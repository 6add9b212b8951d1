//! A heartbeat in the log for long steps that cannot count their progress, such as linfa's fit
//! (steps that can count use [`crate::progress::Progress`]).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How often the fit reports.
pub(crate) const EVERY: Duration = Duration::from_secs(2);

/// Runs `work` and, while it runs, calls `report` with the time elapsed every `every`, from a
/// thread of its own: for steps with no progress hook, such as linfa's fit. Returns what `work`
/// returns; the reporting thread ends with it (also if it panics).
pub(crate) fn heartbeat<T>(
    every: Duration,
    report: impl Fn(Duration) + Send,
    work: impl FnOnce() -> T,
) -> T {
    let started = Instant::now();
    let (done, wait) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = wait.recv_timeout(every) {
                report(started.elapsed());
            }
        });
        // Dropped when `work` returns or unwinds, which wakes the reporter to end.
        let _done = done;
        work()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn a_heartbeat_reports_while_the_work_runs_and_stops_with_it() {
        let beats = AtomicU32::new(0);
        let out = heartbeat(
            Duration::from_millis(20),
            |_| {
                beats.fetch_add(1, Ordering::Relaxed);
            },
            || {
                std::thread::sleep(Duration::from_millis(110));
                7
            },
        );
        assert_eq!(out, 7);
        let n = beats.load(Ordering::Relaxed);
        assert!(n >= 1, "no beat in 110 ms at one per 20 ms");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(beats.load(Ordering::Relaxed), n, "no beat after the work");
    }

    #[test]
    fn a_quick_step_reports_nothing_and_a_panic_ends_the_reporter() {
        let beats = AtomicU32::new(0);
        heartbeat(
            Duration::from_secs(60),
            |_| {
                beats.fetch_add(1, Ordering::Relaxed);
            },
            || (),
        );
        assert_eq!(beats.load(Ordering::Relaxed), 0);
        let panicked = std::panic::catch_unwind(|| {
            heartbeat(Duration::from_secs(60), |_| {}, || panic!("fit failed"))
        });
        assert!(panicked.is_err());
    }
}
