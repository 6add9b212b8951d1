//! Bearer-token authentication with roles: `[auth]` settings and the check each call passes.
//!
//! Tokens are configured by the SHA-256 of their text, never the text itself; a presented token
//! is hashed and compared with every configured hash in constant time, so neither the timing
//! nor the configuration reveals a token.

use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The scoring RPCs (`ScoringService`, `BatchScoringService`), reporting outcomes
    /// (`OutcomeService`) and reflection.
    Scorer,
    /// Model management (`ModelAdminService`) and reflection.
    Admin,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Scorer => "scorer",
            Self::Admin => "admin",
        })
    }
}

/// `[auth]`: who may call.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Off only when set to `false` explicitly; the server then logs a warning at start-up.
    pub enabled: bool,
    /// The accepted tokens.
    pub tokens: Vec<TokenSettings>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            tokens: Vec::new(),
        }
    }
}

/// One accepted token: `[[auth.tokens]]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// Who holds it (logged on refusal, never the token).
    pub name: String,
    /// SHA-256 of the token, 64 hex digits (`bankscore token` makes one).
    pub sha256: String,
    /// What it may do.
    pub roles: Vec<Role>,
}

impl TokenSettings {
    /// Shortens the hash for display.
    pub fn mask(&mut self) {
        self.sha256 = format!("{}…", &self.sha256[..8.min(self.sha256.len())]);
    }
}

impl AuthSettings {
    /// Checks the token list.
    ///
    /// # Errors
    /// `(setting, problem)`: no tokens while enabled, a malformed hash, a token without roles,
    /// or a name or hash used twice.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.enabled && self.tokens.is_empty() {
            return Err((
                "auth.tokens",
                "no token is configured while auth is enabled: add [[auth.tokens]] (see \
                 `bankscore token`) or set auth.enabled = false explicitly"
                    .into(),
            ));
        }
        for (i, t) in self.tokens.iter().enumerate() {
            if t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err((
                    "auth.tokens",
                    format!("token `{}`: sha256 must be 64 hex digits", t.name),
                ));
            }
            if t.roles.is_empty() {
                return Err(("auth.tokens", format!("token `{}` has no roles", t.name)));
            }
            let earlier = &self.tokens[..i];
            if earlier.iter().any(|o| o.name == t.name) {
                return Err((
                    "auth.tokens",
                    format!("token name `{}` is used twice", t.name),
                ));
            }
            if earlier
                .iter()
                .any(|o| o.sha256.eq_ignore_ascii_case(&t.sha256))
            {
                return Err(("auth.tokens", format!("token `{}` repeats a hash", t.name)));
            }
        }
        Ok(())
    }
}

/// The SHA-256 of a token, as configured.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new random token (256 bits, hex) and the `[[auth.tokens]]` TOML entry that accepts it.
pub fn new_token(name: &str, roles: &[Role]) -> (String, String) {
    use rand::RngCore;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let entry = TokenSettings {
        name: name.to_owned(),
        sha256: token_hash(&token)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        roles: roles.to_vec(),
    };
    #[derive(serde::Serialize)]
    struct Entry<'a> {
        auth: Tokens<'a>,
    }
    #[derive(serde::Serialize)]
    struct Tokens<'a> {
        tokens: [&'a TokenSettings; 1],
    }
    let text = toml::to_string(&Entry {
        auth: Tokens { tokens: [&entry] },
    })
    .expect("a token entry serializes");
    (token, text)
}

/// The accepted tokens, ready for checking calls.
#[derive(Clone)]
pub struct Authenticator {
    tokens: Vec<([u8; 32], String, Vec<Role>)>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No token, a malformed header, or a token nobody configured.
    Unauthenticated(&'static str),
    /// A valid token without the role the method needs.
    PermissionDenied { holder: String, needs: Role },
}

impl Authenticator {
    /// From checked settings (see [`AuthSettings::check`]).
    pub fn new(settings: &AuthSettings) -> Self {
        let tokens = settings
            .tokens
            .iter()
            .map(|t| {
                let mut hash = [0u8; 32];
                for (k, byte) in hash.iter_mut().enumerate() {
                    *byte = u8::from_str_radix(&t.sha256[2 * k..2 * k + 2], 16).unwrap_or(0);
                }
                (hash, t.name.clone(), t.roles.clone())
            })
            .collect();
        Self { tokens }
    }

    /// Checks an `authorization` header value for a method needing `needs` (`None`: any
    /// valid token).
    ///
    /// # Errors
    /// The [`Refusal`].
    pub fn check(&self, header: Option<&[u8]>, needs: Option<Role>) -> Result<(), Refusal> {
        let header = header.ok_or(Refusal::Unauthenticated("no bearer token"))?;
        let token = header
            .strip_prefix(b"Bearer ")
            .or_else(|| header.strip_prefix(b"bearer "))
            .ok_or(Refusal::Unauthenticated(
                "the authorization header is not `Bearer <token>`",
            ))?;
        let presented: [u8; 32] = Sha256::digest(token).into();
        // Compare with every configured hash, without stopping early.
        let mut found: Option<usize> = None;
        for (i, (hash, _, _)) in self.tokens.iter().enumerate() {
            let diff = hash
                .iter()
                .zip(presented.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if std::hint::black_box(diff) == 0 {
                found = Some(i);
            }
        }
        let (_, holder, roles) =
            &self.tokens[found.ok_or(Refusal::Unauthenticated("unknown token"))?];
        match needs {
            Some(role) if !roles.contains(&role) => Err(Refusal::PermissionDenied {
                holder: holder.clone(),
                needs: role,
            }),
            _ => Ok(()),
        }
    }
}

/// The role a gRPC method path needs: `Some(None)` any valid token, `None` no token at all
/// (health checks, so load balancers can probe).
pub fn required_role(path: &str) -> Option<Option<Role>> {
    let service = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match service {
        "grpc.health.v1.Health" => None,
        // Reporting outcomes is part of the scoring loop: the systems that ask for decisions
        // are the ones that learn what became of the customer.
        "bankscore.v1.ScoringService"
        | "bankscore.v1.BatchScoringService"
        | "bankscore.v1.OutcomeService"
        | "inference.GRPCInferenceService" => Some(Some(Role::Scorer)),
        "bankscore.v1.ModelAdminService" => Some(Some(Role::Admin)),
        _ => Some(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(h: [u8; 32]) -> String {
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn auth() -> Authenticator {
        Authenticator::new(&AuthSettings {
            enabled: true,
            tokens: vec![
                TokenSettings {
                    name: "core".into(),
                    sha256: hex(token_hash("s3cret-scorer")),
                    roles: vec![Role::Scorer],
                },
                TokenSettings {
                    name: "ops".into(),
                    sha256: hex(token_hash("s3cret-admin")),
                    roles: vec![Role::Admin, Role::Scorer],
                },
            ],
        })
    }

    #[test]
    fn a_token_passes_only_for_its_roles() {
        let a = auth();
        assert_eq!(
            a.check(Some(b"Bearer s3cret-scorer"), Some(Role::Scorer)),
            Ok(())
        );
        assert_eq!(
            a.check(Some(b"Bearer s3cret-scorer"), Some(Role::Admin)),
            Err(Refusal::PermissionDenied {
                holder: "core".into(),
                needs: Role::Admin
            })
        );
        assert_eq!(
            a.check(Some(b"Bearer s3cret-admin"), Some(Role::Admin)),
            Ok(())
        );
        assert_eq!(a.check(Some(b"Bearer s3cret-admin"), None), Ok(()));
    }

    #[test]
    fn missing_malformed_and_unknown_tokens_are_unauthenticated() {
        let a = auth();
        for header in [
            None,
            Some(&b"s3cret-scorer"[..]),
            Some(b"Bearer nope"),
            Some(b"Basic abc"),
        ] {
            assert!(
                matches!(
                    a.check(header, Some(Role::Scorer)),
                    Err(Refusal::Unauthenticated(_))
                ),
                "{header:?}"
            );
        }
    }

    #[test]
    fn settings_refuse_an_empty_list_bad_hashes_and_repeats_but_allow_explicitly_off() {
        let mut s = AuthSettings::default();
        assert_eq!(s.check().unwrap_err().0, "auth.tokens");
        s.enabled = false;
        assert!(s.check().is_ok());
        s.tokens.push(TokenSettings {
            name: "x".into(),
            sha256: "abc".into(),
            roles: vec![Role::Scorer],
        });
        assert!(s.check().unwrap_err().1.contains("64 hex digits"));
        s.tokens[0].sha256 = hex(token_hash("t"));
        s.tokens.push(s.tokens[0].clone());
        assert!(s.check().unwrap_err().1.contains("used twice"));
    }

    #[test]
    fn health_needs_no_token_and_each_service_its_role() {
        assert_eq!(required_role("/grpc.health.v1.Health/Check"), None);
        assert_eq!(
            required_role("/bankscore.v1.ScoringService/Score"),
            Some(Some(Role::Scorer))
        );
        assert_eq!(
            required_role("/bankscore.v1.OutcomeService/ReportOutcomes"),
            Some(Some(Role::Scorer))
        );
        assert_eq!(
            required_role("/bankscore.v1.ModelAdminService/Reload"),
            Some(Some(Role::Admin))
        );
        assert_eq!(
            required_role("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Some(None)
        );
    }
}
