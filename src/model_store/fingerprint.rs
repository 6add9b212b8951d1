//! What the models directory looked like: every file's path, size and modification time, the
//! state a reload is compared with.

use std::path::Path;
use std::time::SystemTime;

/// Path, size and modification time of every file under a directory, sorted by path.
pub type Fingerprint = Vec<(String, u64, Option<SystemTime>)>;

/// The [`Fingerprint`] of `dir`.
pub fn fingerprint(dir: &Path) -> Fingerprint {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.push((
                    entry.path().display().to_string(),
                    meta.len(),
                    meta.modified().ok(),
                ));
            }
        }
    }
    out.sort();
    out
}
