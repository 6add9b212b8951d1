//! The bundle's checksum manifest (`checksums.sha256`, in `sha256sum` format).

use sha2::{Digest, Sha256};

use super::error::BundleProblem;

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Renders a manifest line per `(file, content)`: `<hex>  <file>`.
pub fn render_manifest<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    entries
        .into_iter()
        .map(|(name, bytes)| format!("{}  {name}\n", sha256_hex(bytes)))
        .collect()
}

/// Whether `name` may be listed: a file of the bundle directory, or of its `uplift/` folder.
/// Nothing else, so a manifest can never point outside its bundle.
fn bundle_path(name: &str) -> bool {
    let plain = |f: &str| !f.is_empty() && f != "." && f != ".." && !f.contains(['/', '\\']);
    match name.split_once('/') {
        None => plain(name),
        Some((dir, file)) => dir == super::format::files::UPLIFT_DIR && plain(file),
    }
}

/// Parses a manifest into `(file, hex)` pairs.
///
/// # Errors
/// A line that is not `<64 hex digits>  <file name>`, naming the line number.
pub fn parse_manifest(text: &str) -> Result<Vec<(String, String)>, BundleProblem> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (hex, name) = line
            .split_once("  ")
            .ok_or(BundleProblem::ManifestLine { line: i + 1 })?;
        let valid_hex = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid_hex || !bundle_path(name) {
            return Err(BundleProblem::ManifestLine { line: i + 1 });
        }
        entries.push((name.to_owned(), hex.to_ascii_lowercase()));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_known_string() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_rendered_manifest_parses_back() {
        let text = render_manifest([("a.json", &b"{}"[..]), ("b.toml", &b"x = 1"[..])]);
        let parsed = parse_manifest(&text).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].0, "a.json");
        assert_eq!(parsed[0].1, sha256_hex(b"{}"));
    }

    #[test]
    fn malformed_lines_are_named() {
        assert_eq!(
            parse_manifest("abc model.json").unwrap_err().to_string(),
            "line 1: expected `<sha256>  <file>`"
        );
        for bad in [
            "../etc/passwd",
            "uplift/../model.json",
            "uplift/a/b.json",
            "other/x.json",
            "uplift/",
        ] {
            let line = format!("{}  {bad}", "0".repeat(64));
            assert!(parse_manifest(&line).is_err(), "{bad}");
        }
        let uplift = format!("{}  uplift/rm_call.json", "0".repeat(64));
        assert_eq!(parse_manifest(&uplift).unwrap()[0].0, "uplift/rm_call.json");
    }
}
