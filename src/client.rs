//! `bankscore call`: one RPC against a running server with a customer profile from a JSON file,
//! printing the reply. For operators and for trying the API without writing a client.

use std::path::Path;

use anyhow::Context;
use tonic::transport::Endpoint;

use crate::domain::CustomerProfile;
use crate::service::pb::{self, scoring_service_client::ScoringServiceClient};

/// Which RPC to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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

/// A call's parameters.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// Server address, e.g. `http://127.0.0.1:50051`.
    pub target: &'a str,
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
}

/// Performs the call and renders the reply.
///
/// # Errors
/// The profile file is unreadable, the server unreachable, or the call fails (with its status).
pub async fn call(c: &Call<'_>) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(c.profile_json)
        .with_context(|| format!("reading {}", c.profile_json.display()))?;
    let profile: CustomerProfile = serde_json::from_str(&text)
        .with_context(|| format!("parsing {}", c.profile_json.display()))?;
    let channel = Endpoint::from_shared(c.target.to_owned())?
        .connect()
        .await
        .with_context(|| format!("connecting to {}", c.target))?;
    let mut client = ScoringServiceClient::new(channel);
    let context = Some(pb::RequestContext {
        request_id: c.request_id.to_owned(),
        model_version: c.model_version.to_owned(),
    });
    let profile = Some(pb::CustomerProfile::from(&profile));
    let reply = match c.rpc {
        Rpc::Score => format!(
            "{:#?}",
            client
                .score(pb::ScoreRequest {
                    context,
                    profile,
                    max_reasons: 0,
                    include_ineligible: c.include_ineligible,
                })
                .await?
                .into_inner()
        ),
        Rpc::ClassifyValueTier => format!(
            "{:#?}",
            client
                .classify_value_tier(pb::ClassifyValueTierRequest { context, profile })
                .await?
                .into_inner()
        ),
        Rpc::PredictChurn => format!(
            "{:#?}",
            client
                .predict_churn(pb::PredictChurnRequest {
                    context,
                    profile,
                    max_reasons: 0,
                })
                .await?
                .into_inner()
        ),
        Rpc::RecommendRetentionAction => format!(
            "{:#?}",
            client
                .recommend_retention_action(pb::RecommendRetentionActionRequest {
                    context,
                    profile,
                    include_ineligible: c.include_ineligible,
                })
                .await?
                .into_inner()
        ),
    };
    Ok(reply)
}
