//! The bundle's checksum manifest (`checksums.sha256`, in `sha256sum` format).

use sha2::{Digest, Sha256};

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

/// Parses a manifest into `(file, hex)` pairs.
///
/// # Errors
/// A line that is not `<64 hex digits>  <file name>`, naming the line number.
pub fn parse_manifest(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (hex, name) = line
            .split_once("  ")
            .ok_or_else(|| format!("line {}: expected `<sha256>  <file>`", i + 1))?;
        let valid_hex = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid_hex || name.is_empty() || name.contains('/') {
            return Err(format!("line {}: expected `<sha256>  <file>`", i + 1));
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
            parse_manifest("abc model.json").unwrap_err(),
            "line 1: expected `<sha256>  <file>`"
        );
        let bad_path = format!("{}  ../etc/passwd", "0".repeat(64));
        assert!(parse_manifest(&bad_path).is_err());
    }
}
