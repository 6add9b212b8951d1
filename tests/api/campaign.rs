//! PlanCampaign over gRPC: budget and capacities respected exactly, a reproducible control
//! group, and the comparison with the naive plan; and the columns of `bankscore plan`'s file.

use std::collections::HashMap;

use bankscore::batch::plan::in_control_group;
use bankscore::service::pb::{self, batch_scoring_service_client::BatchScoringServiceClient};
use tokio_stream::StreamExt;

use crate::helpers::{run_bankscore, shipped_models, spawn_app};

fn candidate(i: usize) -> pb::CampaignCandidate {
    let action = |id: &str, ev: f64, cost: f64| pb::CandidateAction {
        action_id: id.into(),
        expected_value: ev,
        cost,
    };
    let f = i as f64;
    pb::CampaignCandidate {
        customer_id: format!("C{i:06}"),
        churn_probability: ((i * 7919) % 1000) as f64 / 1000.0,
        value_at_risk: 1000.0 + f,
        actions: vec![
            action("rm_call", 40.0 + (f * 13.0) % 90.0, 45.0),
            action("fee_waiver", 5.0 + (f * 7.0) % 40.0, 30.0),
            action("autopay_setup", 1.0 + (f * 3.0) % 12.0, 8.0),
        ],
    }
}

async fn plan(
    settings: pb::CampaignSettings,
    n: usize,
) -> (Vec<pb::PlanAssignment>, pb::PlanSummary) {
    let app = spawn_app().await;
    let mut requests = vec![pb::PlanCampaignRequest {
        settings: Some(settings),
        candidates: Vec::new(),
    }];
    let all: Vec<pb::CampaignCandidate> = (0..n).map(candidate).collect();
    for chunk in all.chunks(1_000) {
        requests.push(pb::PlanCampaignRequest {
            settings: None,
            candidates: chunk.to_vec(),
        });
    }
    let mut replies = BatchScoringServiceClient::new(app.channel.clone())
        .plan_campaign(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let (mut assignments, mut summary) = (Vec::new(), None);
    while let Some(reply) = replies.next().await {
        let reply = reply.unwrap();
        assignments.extend(reply.assignments);
        if reply.summary.is_some() {
            summary = reply.summary;
        }
    }
    app.stop().await.unwrap();
    (assignments, summary.expect("a summary comes last"))
}

#[tokio::test]
async fn the_plan_respects_budget_and_capacity_exactly_and_beats_the_naive_plan() {
    let settings = pb::CampaignSettings {
        campaign_id: "2026-12-retention".into(),
        budget: 50_000.0,
        capacity: HashMap::from([("rm_call".to_owned(), 500)]),
        control_share: 0.1,
    };
    let n = 20_000;
    let (assignments, summary) = plan(settings, n).await;
    assert_eq!(assignments.len(), n);
    assert_eq!(summary.candidates, n as u64);
    let cost: f64 = assignments.iter().map(|a| a.cost).sum();
    let plan = summary.plan.unwrap();
    assert!(
        (cost - plan.cost).abs() < 1e-6 && plan.cost <= 50_000.0 + 1e-9,
        "{plan:?}"
    );
    let calls = assignments
        .iter()
        .filter(|a| a.action_id == "rm_call")
        .count();
    assert_eq!(calls as u64, summary.per_action["rm_call"]);
    assert!(calls <= 500);
    // The control group is exactly the customers the documented hash puts there, and gets nothing.
    for (i, a) in assignments.iter().enumerate() {
        assert_eq!(
            a.customer_id,
            format!("C{i:06}"),
            "assignments keep the order sent"
        );
        let control = in_control_group(&a.customer_id, "2026-12-retention", 0.1);
        assert_eq!(
            a.decision() == pb::PlanDecision::Control,
            control,
            "{}",
            a.customer_id
        );
        if control {
            assert!(a.action_id.is_empty() && a.cost == 0.0);
        } else {
            assert!(a.withheld_action_id.is_empty());
        }
        // The probability the hash gave the decision, as in the plan file.
        let propensity = match a.decision() {
            pb::PlanDecision::Target => 0.9,
            pb::PlanDecision::Control if !a.withheld_action_id.is_empty() => 0.1,
            _ => 1.0,
        };
        assert_eq!(a.propensity, propensity, "{}", a.customer_id);
        // The value at risk the caller sent comes back with the assignment.
        assert_eq!(a.value_at_risk, candidate(i).value_at_risk);
    }
    // Control customers with an action worth taking name the one withheld from them.
    let withheld = assignments
        .iter()
        .filter(|a| !a.withheld_action_id.is_empty())
        .count();
    assert!(withheld > 0, "no control customer has a withheld action");
    let control = assignments
        .iter()
        .filter(|a| a.decision() == pb::PlanDecision::Control)
        .count();
    assert_eq!(summary.control, control as u64);
    assert!((control as f64 / n as f64 - 0.1).abs() < 0.01);
    let naive = summary.naive.unwrap();
    assert!(naive.cost <= 50_000.0 + 1e-9);
    assert!(
        plan.expected_value > naive.expected_value,
        "plan {plan:?} vs naive {naive:?}"
    );
}

#[tokio::test]
async fn bad_campaign_settings_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let mut client = BatchScoringServiceClient::new(app.channel.clone());
    let cases = [
        (
            pb::CampaignSettings {
                budget: -1.0,
                ..Default::default()
            },
            "settings.budget: -1 is not a finite amount >= 0",
        ),
        (
            pb::CampaignSettings {
                budget: 10.0,
                control_share: 0.7,
                campaign_id: "c".into(),
                ..Default::default()
            },
            "settings.control_share: 0.7 is outside 0..=0.5",
        ),
        (
            pb::CampaignSettings {
                budget: 10.0,
                control_share: 0.1,
                ..Default::default()
            },
            "settings.campaign_id: is required for a control group",
        ),
    ];
    for (settings, message) in cases {
        let request = pb::PlanCampaignRequest {
            settings: Some(settings),
            candidates: Vec::new(),
        };
        let status = client
            .plan_campaign(tokio_stream::iter(vec![request]))
            .await
            .unwrap_err();
        assert_eq!(
            (status.code(), status.message()),
            (tonic::Code::InvalidArgument, message)
        );
    }
    let settings = pb::CampaignSettings {
        budget: 10.0,
        ..Default::default()
    };
    let twice = vec![candidate(1), candidate(1)];
    let request = pb::PlanCampaignRequest {
        settings: Some(settings),
        candidates: twice,
    };
    let status = client
        .plan_campaign(tokio_stream::iter(vec![request]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("C000001]: the customer appears twice"),
        "{}",
        status.message()
    );
    let negative = pb::CampaignCandidate {
        value_at_risk: -5.0,
        ..candidate(2)
    };
    let request = pb::PlanCampaignRequest {
        settings: Some(pb::CampaignSettings {
            budget: 10.0,
            ..Default::default()
        }),
        candidates: vec![negative],
    };
    let status = client
        .plan_campaign(tokio_stream::iter(vec![request]))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (
            tonic::Code::InvalidArgument,
            "candidates[C000002].value_at_risk: -5 is not a finite amount >= 0"
        )
    );
    let status = client
        .plan_campaign(tokio_stream::iter(vec![pb::PlanCampaignRequest::default()]))
        .await
        .unwrap_err();
    assert_eq!(
        status.message(),
        "settings: the first message must carry the campaign settings"
    );
    app.stop().await.unwrap();
}

#[test]
fn the_plan_file_carries_value_at_risk_propensity_and_the_action_control_customers_would_have_had()
{
    let tmp = tempfile::tempdir().unwrap();
    let p = |f: &str| tmp.path().join(f).display().to_string();
    let models = shipped_models().display().to_string();
    let (input, scored, plan) = (p("in.csv"), p("scored.csv"), p("plan.csv"));
    for args in [
        vec![
            "generate",
            "--rows",
            "2000",
            "--seed",
            "3",
            "--out",
            input.as_str(),
        ],
        vec![
            "score",
            "--input",
            input.as_str(),
            "--out",
            scored.as_str(),
            "--models-dir",
            models.as_str(),
        ],
        vec![
            "plan",
            "--scored",
            scored.as_str(),
            "--out",
            plan.as_str(),
            "--budget",
            "3000",
            "--campaign-id",
            "2026-12",
            "--control-share",
            "0.2",
        ],
    ] {
        run_bankscore(&args);
    }
    let read = |f: &str| {
        let text = std::fs::read_to_string(p(f)).unwrap();
        let mut lines = text
            .lines()
            .map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>());
        let header = lines.next().unwrap();
        (header, lines.collect::<Vec<_>>())
    };
    let (header, plan) = read("plan.csv");
    // The old columns first and in order, then the two the outcomes join needs.
    assert_eq!(
        header,
        [
            "customer_id",
            "decision",
            "action",
            "expected_value",
            "cost",
            "value_at_risk",
            "propensity"
        ]
    );
    let (scored_header, scored) = read("scored.csv");
    let col = |name: &str| scored_header.iter().position(|h| h == name).unwrap();
    let (var, candidates) = (col("value_at_risk"), col("candidates"));
    // The shipped bundle neither explores nor holds customers out: every decision is certain.
    let propensity = col("propensity");
    assert_eq!(propensity, scored_header.len() - 1, "propensity comes last");
    assert!(scored.iter().all(|s| s[propensity] == "1"));
    assert_eq!(plan.len(), scored.len());
    let (mut control, mut with_action) = (0, 0);
    for (r, s) in plan.iter().zip(&scored) {
        assert_eq!(r[0], s[0], "the plan keeps the scored order");
        assert_eq!(
            r[5].parse::<f64>().unwrap(),
            s[var].parse::<f64>().unwrap(),
            "{}",
            r[0]
        );
        match r[1].as_str() {
            "control" => {
                control += 1;
                assert!(in_control_group(&r[0], "2026-12", 0.2));
                assert_eq!(
                    (r[3].as_str(), r[4].as_str()),
                    ("0", "0"),
                    "control costs nothing"
                );
                // The would-be action: the customer's highest-EV candidate.
                let best = s[candidates]
                    .split('|')
                    .filter(|c| !c.is_empty())
                    .map(|c| {
                        let parts: Vec<&str> = c.split(':').collect();
                        (parts[0], parts[1].parse::<f64>().unwrap())
                    })
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map_or("", |(a, _)| a);
                assert_eq!(r[2], best, "{}", r[0]);
                with_action += usize::from(!best.is_empty());
                // Held out by the hash with probability 0.2; nothing to withhold is certain.
                let p = if best.is_empty() { "1" } else { "0.2" };
                assert_eq!(r[6], p, "propensity of {}", r[0]);
            }
            "target" => {
                assert!(!r[2].is_empty() && r[4].parse::<f64>().unwrap() >= 0.0);
                assert_eq!(r[6], "0.8", "not held out, probability 1 − 0.2: {}", r[0]);
            }
            "none" => assert_eq!((r[2].as_str(), r[6].as_str()), ("", "1"), "{}", r[0]),
            other => panic!("decision {other}"),
        }
    }
    assert!(
        control > 300 && with_action > 0,
        "{control} control, {with_action} with an action"
    );
}

#[test]
fn plan_reads_the_parquet_score_writes_and_plans_exactly_as_from_its_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |f: &str| tmp.path().join(f).display().to_string();
    let models = shipped_models().display().to_string();
    let run = |args: &[&str]| {
        run_bankscore(args);
    };
    run(&[
        "generate",
        "--rows",
        "3000",
        "--seed",
        "5",
        "--out",
        &p("in.csv"),
    ]);
    for scored in ["scored.csv", "scored.parquet"] {
        run(&[
            "score",
            "--input",
            &p("in.csv"),
            "--out",
            &p(scored),
            "--models-dir",
            &models,
        ]);
        run(&[
            "plan",
            "--scored",
            &p(scored),
            "--out",
            &p(&format!("{scored}.plan.csv")),
            "--budget",
            "4000",
            "--campaign-id",
            "2026-12",
            "--control-share",
            "0.2",
        ]);
    }
    let from_csv = std::fs::read_to_string(p("scored.csv.plan.csv")).unwrap();
    let from_parquet = std::fs::read_to_string(p("scored.parquet.plan.csv")).unwrap();
    assert_eq!(from_csv.lines().count(), 3001, "one row per customer");
    assert!(from_csv.contains(",target,"), "the plan targets someone");
    assert_eq!(from_parquet, from_csv);
}
