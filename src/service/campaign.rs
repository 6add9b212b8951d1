//! `PlanCampaign`: the campaign's settings, then its candidates in chunks, checked by the core's
//! campaign rules; the plan runs on a bulk thread and its assignments stream back, then a
//! summary.

use std::collections::HashMap;
use std::sync::Arc;

use tonic::{Response, Status, Streaming};

use super::bulk::{next_message, Admitted, Bulk, Outbox, ResultStream};
use super::convert;
use super::error::{self, FieldError};
use super::pb;
use crate::batch::plan::{self, Campaign, CampaignRules, CandidateAction};

/// Assignments per `PlanCampaign` response message.
const ASSIGNMENTS_PER_MESSAGE: usize = 10_000;

/// Plans the campaign `inbound` sends, within the bulk slot `admitted`.
pub(super) async fn plan_campaign(
    bulk: &Bulk,
    admitted: Admitted,
    inbound: Streaming<pb::PlanCampaignRequest>,
) -> Result<Response<ResultStream<pb::PlanCampaignResponse>>, Status> {
    let mut inbound = inbound;
    let first = next_message(&mut inbound)
        .await?
        .ok_or_else(|| FieldError::new("settings", "the stream is empty"))?;
    let settings = first.settings.ok_or_else(|| {
        FieldError::new(
            "settings",
            "the first message must carry the campaign settings",
        )
    })?;
    let rules = CampaignRules {
        campaign_id: &settings.campaign_id,
        budget: settings.budget,
        control_share: settings.control_share,
    };
    let mut campaign = Campaign::new(rules).map_err(|e| error::campaign(&e))?;
    let mut add = |chunk: Vec<pb::CampaignCandidate>| -> Result<(), Status> {
        for c in chunk {
            let actions = c.actions.iter().map(|a| CandidateAction {
                action: &a.action_id,
                expected_value: a.expected_value,
                cost: a.cost,
            });
            campaign
                .add(
                    &c.customer_id,
                    c.churn_probability,
                    c.value_at_risk,
                    actions,
                )
                .map_err(|e| error::campaign(&e))?;
        }
        Ok(())
    };
    add(first.candidates)?;
    while let Some(msg) = next_message(&mut inbound).await? {
        add(msg.candidates)?;
    }
    let limits = campaign.limits(|action| settings.capacity.get(action).copied());
    let Campaign {
        candidates,
        ids,
        value_at_risk,
        ..
    } = campaign;
    let (candidates, ids) = (Arc::new(candidates), Arc::new(ids));
    let control_share = settings.control_share;
    let planned = {
        let c = candidates.clone();
        bulk.executor
            .run(move || (plan::greedy(&c, &limits), plan::naive(&c, &limits)))
            .await
            .map_err(error::bulk)?
    };
    let (out, stream) = Outbox::new();
    tokio::spawn(async move {
        let _admitted = admitted;
        let (chosen, naive) = planned;
        for (start, slice) in chosen
            .assignments
            .chunks(ASSIGNMENTS_PER_MESSAGE)
            .enumerate()
        {
            let base = start * ASSIGNMENTS_PER_MESSAGE;
            let assignments = slice
                .iter()
                .enumerate()
                .map(|(j, a)| {
                    let i = base + j;
                    let mut out = convert::plan_assignment(&candidates, &ids[i], i, *a);
                    out.propensity = plan::propensity(&candidates, i, *a, control_share);
                    out.value_at_risk = value_at_risk[i];
                    out
                })
                .collect();
            let response = pb::PlanCampaignResponse {
                assignments,
                summary: None,
            };
            if !out.send(response).await {
                return;
            }
        }
        let summary = pb::PlanSummary {
            plan: Some(convert::plan_totals(chosen.totals)),
            naive: Some(convert::plan_totals(naive.totals)),
            control: candidates.control.iter().filter(|&&c| c).count() as u64,
            candidates: candidates.len() as u64,
            per_action: candidates
                .actions
                .iter()
                .cloned()
                .zip(chosen.per_action.iter().copied())
                .collect::<HashMap<_, _>>(),
        };
        out.send(pb::PlanCampaignResponse {
            assignments: Vec::new(),
            summary: Some(summary),
        })
        .await;
    });
    Ok(Response::new(stream))
}
