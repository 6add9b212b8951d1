//! The keyed hash of customer ids: HMAC-SHA256 under the audit key, as 32 hex digits.
//!
//! A plain hash of a customer id would be reversible by hashing every plausible id; the key
//! makes the hash useless to anyone without it, while whoever holds the key can still find a
//! customer's records by hashing the id.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::settings::HashKey;

/// Hex digits kept of the HMAC (128 bits: collisions are out of reach for any customer base).
pub const HASH_HEX_LEN: usize = 32;

/// Hashes customer ids under one key; the one function used by the audit log and by logging.
#[derive(Clone)]
pub struct CustomerHasher {
    // The HMAC with the key already absorbed: each hash clones it instead of rekeying.
    keyed: Hmac<Sha256>,
}

impl CustomerHasher {
    /// A hasher under `key`.
    pub fn new(key: &HashKey) -> Self {
        Self {
            keyed: Hmac::<Sha256>::new_from_slice(key.expose())
                .expect("HMAC accepts keys of any length"),
        }
    }

    /// The keyed hash of `customer_id`: the first [`HASH_HEX_LEN`] hex digits of its HMAC-SHA256.
    pub fn hash(&self, customer_id: &str) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut mac = self.keyed.clone();
        mac.update(customer_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(HASH_HEX_LEN);
        for b in &digest[..HASH_HEX_LEN / 2] {
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        }
        out
    }
}

impl std::fmt::Debug for CustomerHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerHasher(<keyed>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_stable_and_matches_hmac_sha256() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let h = CustomerHasher::new(&HashKey::new("Jefe"));
        assert_eq!(
            h.hash("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c7"
        );
        assert_eq!(h.hash("C-0001"), h.hash("C-0001"));
        assert_eq!(h.hash("C-0001").len(), HASH_HEX_LEN);
    }

    #[test]
    fn a_different_key_or_customer_gives_a_different_hash() {
        let a = CustomerHasher::new(&HashKey::new("key-a"));
        let b = CustomerHasher::new(&HashKey::new("key-b"));
        assert_ne!(a.hash("C-0001"), b.hash("C-0001"));
        assert_ne!(a.hash("C-0001"), a.hash("C-0002"));
        assert!(!a.hash("C-0001").contains("C-0001"));
    }
}
