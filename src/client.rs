//! `bankscore call`: one RPC against a running server with a customer profile from a JSON file,
//! printing the reply. For operators and for trying the API without writing a client.

use std::path::{Path, PathBuf};

use crate::connect::{endpoint, Bearer, ClientTls, ClientTlsError};
use crate::domain::CustomerProfile;
use crate::service::pb::{
    self, model_admin_service_client::ModelAdminServiceClient,
    scoring_service_client::ScoringServiceClient,
};

/// Why a call could not be made or failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The profile file cannot be read.
    #[error("reading {path}")]
    ReadProfile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The profile file is not a customer profile.
    #[error("parsing {path}")]
    ParseProfile {
        /// The file.
        path: PathBuf,
        /// Why, with the line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The profile's request is larger than a gRPC frame can carry.
    #[error("the request is {0} bytes, more than a gRPC frame carries")]
    TooLarge(usize),
    /// The target or its TLS settings are unusable.
    #[error(transparent)]
    Target(#[from] ClientTlsError),
    /// The connection could not be made.
    #[error("connecting to {target}")]
    Connect {
        /// The target.
        target: String,
        /// Why.
        #[source]
        source: tonic::transport::Error,
    },
    /// The server did not answer in time.
    #[error("{target} did not answer within {after:?}")]
    Timeout {
        /// The target.
        target: String,
        /// How long the caller waited.
        after: std::time::Duration,
    },
    /// The server answered with an error: its code by name (e.g. `NotFound`), message, and what
    /// the transport said when it was the transport that failed.
    #[error("the call failed: {}", status_line(.0))]
    Status(tonic::Status),
}

/// `Code: message`, then the transport's causes (e.g. the TLS alert), joined with `: `.
fn status_line(status: &tonic::Status) -> String {
    let mut line = format!("{:?}: {}", status.code(), status.message());
    let mut cause = std::error::Error::source(status);
    while let Some(c) = cause {
        line.push_str(": ");
        line.push_str(&c.to_string());
        cause = c.source();
    }
    line
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        Self::Status(status)
    }
}

/// Which RPC to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rpc {
    /// `Score`: all three answers.
    Score,
    /// `ClassifyValueTier`.
    ClassifyValueTier,
    /// `PredictChurn`.
    PredictChurn,
    /// `RecommendRetentionAction`.
    RecommendRetentionAction,
}

/// How `call` renders the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// The reply in the proto3 JSON mapping (camelCase fields, enums by name), as grpcurl prints.
    #[default]
    Json,
    /// A few lines for a person: model, value and tier, churn, value at risk, decision.
    Text,
}

/// A call's parameters.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// Server address, e.g. `http://127.0.0.1:50051`, or `https://` with `tls`.
    pub target: &'a str,
    /// TLS for an `https://` target.
    pub tls: Option<&'a ClientTls>,
    /// Bearer token sent with the call.
    pub bearer: Bearer,
    /// The RPC.
    pub rpc: Rpc,
    /// The customer profile, as JSON with `CustomerProfile` field names.
    pub profile_json: &'a Path,
    /// Request id to send.
    pub request_id: &'a str,
    /// Model version to pin; empty for the live one.
    pub model_version: &'a str,
    /// Also list ineligible actions.
    pub include_ineligible: bool,
    /// How to render the reply.
    pub format: Format,
}

/// The `Score` request for a profile file as one gRPC length-prefixed frame (1 byte
/// uncompressed flag, 4 bytes big-endian length, the message): the body for HTTP/2 load tools
/// such as h2load.
///
/// # Errors
/// The profile file is unreadable or not a profile.
pub fn score_frame(profile_json: &Path, request_id: &str) -> Result<Vec<u8>, ClientError> {
    use prost::Message;
    let profile = read_profile(profile_json)?;
    let request = pb::ScoreRequest {
        context: Some(pb::RequestContext {
            request_id: request_id.to_owned(),
            model_version: String::new(),
        }),
        profile: Some((&profile).into()),
        max_reasons: 0,
        include_ineligible: false,
    };
    let message = request.encode_to_vec();
    let mut frame = Vec::with_capacity(5 + message.len());
    frame.push(0);
    let length = u32::try_from(message.len()).map_err(|_| ClientError::TooLarge(message.len()))?;
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&message);
    Ok(frame)
}

fn read_profile(path: &Path) -> Result<CustomerProfile, ClientError> {
    let text = std::fs::read_to_string(path).map_err(|source| ClientError::ReadProfile {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ClientError::ParseProfile {
        path: path.to_owned(),
        source,
    })
}

/// A channel to `target`.
async fn connect(
    target: &str,
    tls: Option<&ClientTls>,
) -> Result<tonic::transport::Channel, ClientError> {
    endpoint(target, tls)?
        .connect()
        .await
        .map_err(|source| ClientError::Connect {
            target: target.to_owned(),
            source,
        })
}

/// Performs the call and renders the reply.
///
/// # Errors
/// The profile file is unreadable, the server unreachable, or the call fails (with its status).
pub async fn call(c: &Call<'_>) -> Result<String, ClientError> {
    let profile = read_profile(c.profile_json)?;
    let channel = connect(c.target, c.tls).await?;
    let mut client = ScoringServiceClient::with_interceptor(channel, c.bearer.clone());
    let context = Some(pb::RequestContext {
        request_id: c.request_id.to_owned(),
        model_version: c.model_version.to_owned(),
    });
    let profile = Some(pb::CustomerProfile::from(&profile));
    let reply = match c.rpc {
        Rpc::Score => {
            let r = client
                .score(pb::ScoreRequest {
                    context,
                    profile,
                    max_reasons: 0,
                    include_ineligible: c.include_ineligible,
                })
                .await?
                .into_inner();
            let text = || {
                let mut lines = head(r.model.as_ref(), &r.request_id);
                lines.extend(value_line(r.value.as_ref(), r.tier.as_ref()));
                lines.extend(churn_line(r.churn.as_ref()));
                lines.extend(decision_lines(r.decision.as_ref()));
                lines
            };
            render(c.format, &r, text)
        }
        Rpc::ClassifyValueTier => {
            let r = client
                .classify_value_tier(pb::ClassifyValueTierRequest { context, profile })
                .await?
                .into_inner();
            let text = || {
                let mut lines = head(r.model.as_ref(), &r.request_id);
                lines.extend(value_line(r.value.as_ref(), r.tier.as_ref()));
                lines.push(format!("churn: p = {:.3}", r.churn_probability));
                lines
            };
            render(c.format, &r, text)
        }
        Rpc::PredictChurn => {
            let r = client
                .predict_churn(pb::PredictChurnRequest {
                    context,
                    profile,
                    max_reasons: 0,
                })
                .await?
                .into_inner();
            let text = || {
                let mut lines = head(r.model.as_ref(), &r.request_id);
                lines.extend(churn_line(r.churn.as_ref()));
                lines
            };
            render(c.format, &r, text)
        }
        Rpc::RecommendRetentionAction => {
            let r = client
                .recommend_retention_action(pb::RecommendRetentionActionRequest {
                    context,
                    profile,
                    include_ineligible: c.include_ineligible,
                })
                .await?
                .into_inner();
            let text = || {
                let mut lines = head(r.model.as_ref(), &r.request_id);
                lines.push(format!(
                    "churn: p = {:.3}; tier {}",
                    r.churn_probability,
                    enum_name(
                        pb::ValueTier::try_from(r.tier)
                            .ok()
                            .map(|t| t.as_str_name()),
                        "VALUE_TIER_"
                    )
                ));
                lines.extend(decision_lines(r.decision.as_ref()));
                lines
            };
            render(c.format, &r, text)
        }
    };
    Ok(reply)
}

/// The reply as proto3 JSON, or as the lines `text` gives.
fn render<T: serde::Serialize>(
    format: Format,
    reply: &T,
    text: impl FnOnce() -> Vec<String>,
) -> String {
    match format {
        Format::Json => json(reply),
        Format::Text => text().join("\n"),
    }
}

/// A reply in the proto3 JSON mapping.
fn json<T: serde::Serialize>(reply: &T) -> String {
    serde_json::to_string_pretty(reply).expect("a reply serializes")
}

/// A proto enum's name without its prefix (`VALUE_TIER_A` → `A`), `?` for an unknown value.
fn enum_name(name: Option<&'static str>, prefix: &str) -> &'static str {
    name.map_or("?", |n| n.strip_prefix(prefix).unwrap_or(n))
}

fn head(model: Option<&pb::ModelRef>, request_id: &str) -> Vec<String> {
    let model = model.map_or_else(String::new, |m| {
        let short = m.checksum.get(..8).unwrap_or(&m.checksum);
        format!("{} {} (checksum {short}…)", m.name, m.version)
    });
    vec![format!("model: {model:<34} request_id: {request_id}")]
}

fn value_line(value: Option<&pb::CustomerValue>, tier: Option<&pb::TierAssignment>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(v) = value {
        let tier = tier.map_or_else(String::new, |t| {
            let name = enum_name(
                pb::ValueTier::try_from(t.tier)
                    .ok()
                    .map(|t| t.as_str_name()),
                "VALUE_TIER_",
            );
            let key = if t.key_account { ", key account" } else { "" };
            format!("   → tier {name}{key} ({:?})", t.explanation)
        });
        lines.push(format!(
            "value: realized {:.2} + potential {:.2} + influence {:.2} = total {:.2}{tier}",
            v.realized, v.potential, v.influence, v.total
        ));
    }
    lines
}

fn churn_line(churn: Option<&pb::ChurnAssessment>) -> Vec<String> {
    churn
        .map(|c| {
            let reasons: Vec<&str> = c.top_reasons.iter().map(|r| r.label.as_str()).collect();
            format!(
                "churn: p = {:.3} within {} months; top reasons: {}",
                c.probability,
                c.horizon_months,
                reasons.join(", ")
            )
        })
        .into_iter()
        .collect()
}

fn decision_lines(decision: Option<&pb::RetentionDecision>) -> Vec<String> {
    let Some(d) = decision else {
        return Vec::new();
    };
    let kind = enum_name(
        pb::DecisionKind::try_from(d.kind)
            .ok()
            .map(|k| k.as_str_name()),
        "DECISION_KIND_",
    );
    let mut lines = vec![format!("value at risk: {:.2}", d.value_at_risk)];
    match &d.best {
        Some(best) => {
            lines.push(format!(
                "decision: {kind} {}, EV {:.2} ({:?})",
                best.action_id, best.expected_value, d.reason
            ));
            lines.push(format!("  reason: {:?}", best.reason));
        }
        None => lines.push(format!("decision: {kind} ({:?})", d.reason)),
    }
    lines
}

/// Asks `grpc.health.v1.Health/Check` for `service` (`""`: the whole server) and returns the
/// status the server reports, e.g. `SERVING` or `NOT_SERVING`. No token is sent: health needs
/// none. The whole check, connecting included, gives up after `timeout`.
///
/// # Errors
/// The server is unreachable within `timeout`, or the call fails (NOT_FOUND for a service the
/// server does not know).
pub async fn health(
    target: &str,
    tls: Option<&ClientTls>,
    service: &str,
    timeout: std::time::Duration,
) -> Result<String, ClientError> {
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    let endpoint = endpoint(target, tls)?
        .connect_timeout(timeout)
        .timeout(timeout);
    let check = async {
        let channel = endpoint
            .connect()
            .await
            .map_err(|source| ClientError::Connect {
                target: target.to_owned(),
                source,
            })?;
        let reply = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await?
            .into_inner();
        Ok::<_, ClientError>(reply.status().as_str_name().to_owned())
    };
    tokio::time::timeout(timeout, check)
        .await
        .map_err(|_| ClientError::Timeout {
            target: target.to_owned(),
            after: timeout,
        })?
}

/// Lists the served models (`reload = false`) or reloads the models directory first, and renders
/// the state as a table, or with `Format::Json` the reply in the proto3 JSON mapping.
///
/// # Errors
/// The server is unreachable or the call fails.
pub async fn admin(
    target: &str,
    tls: Option<&ClientTls>,
    bearer: &Bearer,
    reload: bool,
    format: Format,
) -> Result<String, ClientError> {
    use std::fmt::Write;
    let channel = connect(target, tls).await?;
    let mut client = ModelAdminServiceClient::with_interceptor(channel, bearer.clone());
    let mut out = String::new();
    let list = if reload {
        let r = client.reload(pb::ReloadRequest {}).await?.into_inner();
        if format == Format::Json {
            return Ok(json(&r) + "\n");
        }
        if let Some(s) = r.summary {
            let _ = writeln!(out, "reload: applied {}, changed {}", s.applied, s.changed);
            for p in s.problems {
                let _ = writeln!(out, "  problem: {p}");
            }
        }
        r.models.unwrap_or_default()
    } else {
        let list = client
            .list_models(pb::ListModelsRequest {})
            .await?
            .into_inner();
        if format == Format::Json {
            return Ok(json(&list) + "\n");
        }
        list
    };
    let _ = writeln!(
        out,
        "model {} ({} reloads, {} bundles refused since start)",
        list.model_name, list.reloads_total, list.rejected_bundles_total
    );
    for v in &list.versions {
        let state = format!("{:?}", v.state()).to_lowercase();
        let _ = write!(out, "  {:<12} {:<11}", v.version, state);
        if !v.checksum.is_empty() {
            let _ = write!(
                out,
                " AUC {:.4}  trained {}  checksum {}",
                v.roc_auc,
                v.trained_at,
                &v.checksum[..12]
            );
        }
        if !v.load_error.is_empty() {
            let kept = if v.previous_kept {
                " (earlier load still serves)"
            } else {
                ""
            };
            let _ = write!(out, "\n               refused{kept}: {}", v.load_error);
        }
        let _ = writeln!(out);
    }
    if let Some(s) = list.shadow {
        let _ = writeln!(
            out,
            "shadow: challenger {} on {} requests: mean |dp| {:.5}, max |dp| {:.5}, tier disagreements {}, action disagreements {}",
            s.challenger_version, s.requests, s.mean_abs_probability_diff, s.max_abs_probability_diff, s.tier_disagreements, s.action_disagreements
        );
    }
    if let Some(l) = list.last_reload {
        let _ = writeln!(
            out,
            "last reload: {} by {}, applied {}, {} problems",
            l.at,
            l.trigger,
            l.applied,
            l.problems.len()
        );
    }
    Ok(out)
}
