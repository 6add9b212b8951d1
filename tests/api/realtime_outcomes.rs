//! Closing the loop for real-time decisions: customers scored over gRPC by a bundle with a
//! control group, their outcomes reported over `ReportOutcomes`, then `bankscore outcomes
//! --audit … --observed …` checked against a count done here from the replies.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use bankscore::audit::{
    AuditLog, AuditSettings, CustomerHasher, HashKey, OutcomeLog, OutcomeRecord, OutcomesSettings,
};
use bankscore::service::pb::{self, outcome_service_client::OutcomeServiceClient};
use bankscore::service::ServerConfig;
use bankscore::training::synthetic::Generator;
use rand::{Rng, SeedableRng};

use crate::helpers::{context, copy_shipped, reseal, spawn_app, spawn_app_with};

const BIN: &str = env!("CARGO_BIN_EXE_bankscore");
const KEY: &str = "realtime-outcomes-key";
const CUSTOMERS: usize = 300;

/// What the server answered for one customer.
struct Scored {
    customer_id: String,
    /// `target`, `control` or `none`.
    decision: &'static str,
    /// Offered or withheld action; empty for none.
    action: String,
    propensity: f64,
    churn_probability: f64,
}

fn outcome(id: &str, churned: bool, on: &str) -> pb::Outcome {
    pb::Outcome {
        customer_id: id.into(),
        churned: Some(churned),
        observed_on: on.into(),
        campaign_id: "rt-2027".into(),
    }
}

/// The cells of the Markdown table row whose first cell is `name`, if any.
fn table_row(report: &str, name: &str) -> Option<Vec<String>> {
    report
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .find(|cells| cells[0] == name)
}

/// A copy of the shipped bundle holding out 30% of the customers who have an action.
fn bundle_with_control_group(models: &Path) {
    let dir = copy_shipped(models, "v1");
    let policy = dir.join("policy.toml");
    let mut text = std::fs::read_to_string(&policy).unwrap();
    text.push_str("\n[control_group]\nshare = 0.3\nsalt = \"t\"\n");
    std::fs::write(&policy, text).unwrap();
    reseal(&dir);
}

#[tokio::test]
async fn outcomes_reported_over_grpc_measure_real_time_decisions_against_the_control_group() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    bundle_with_control_group(&models);
    let (audit_path, outcomes_path) = (
        tmp.path().join("audit.jsonl"),
        tmp.path().join("outcomes.jsonl"),
    );
    let key = HashKey::new(KEY);
    let audit = AuditLog::open(
        &audit_path,
        &AuditSettings {
            hash_key: key.clone(),
            ..AuditSettings::default()
        },
    )
    .unwrap();
    let outcomes = OutcomeLog::open(&outcomes_path, &OutcomesSettings::default(), &key).unwrap();
    let config = ServerConfig {
        audit: Some(Arc::new(audit)),
        outcomes: Some(Arc::new(outcomes)),
        ..Default::default()
    };
    let mut app = spawn_app_with(&models, config).await;

    // Score 300 distinct customers; the first 10 are asked again through
    // RecommendRetentionAction (the later record is the one measured), and 5 are only
    // churn-predicted once more (no decision: left out).
    let mut generator = Generator::new(41);
    let profiles: Vec<pb::CustomerProfile> = (0..CUSTOMERS)
        .map(|_| (&generator.next_customer().profile).into())
        .collect();
    let mut scored = Vec::with_capacity(CUSTOMERS);
    for (i, p) in profiles.iter().enumerate() {
        let reply = app
            .client
            .score(pb::ScoreRequest {
                context: context(&format!("rt-{i}")),
                profile: Some(p.clone()),
                max_reasons: 0,
                include_ineligible: false,
            })
            .await
            .unwrap()
            .into_inner();
        let d = reply.decision.unwrap();
        let (decision, action) = match (&d.best, &d.withheld) {
            (_, Some(w)) if d.control_group => ("control", w.action_id.clone()),
            (Some(b), _) => ("target", b.action_id.clone()),
            _ => ("none", String::new()),
        };
        scored.push(Scored {
            customer_id: p.customer_id.clone(),
            decision,
            action,
            propensity: d.propensity,
            churn_probability: reply.churn.unwrap().probability,
        });
    }
    for p in &profiles[..10] {
        app.client
            .recommend_retention_action(pb::RecommendRetentionActionRequest {
                context: context("again"),
                profile: Some(p.clone()),
                include_ineligible: false,
            })
            .await
            .unwrap();
    }
    for p in &profiles[10..15] {
        app.client
            .predict_churn(pb::PredictChurnRequest {
                context: context("churn"),
                profile: Some(p.clone()),
                max_reasons: 0,
            })
            .await
            .unwrap();
    }

    // Outcomes drawn from each customer's churn probability, a third lower when targeted; the
    // last 20 customers have none yet; 4 outcomes belong to customers never scored.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2027);
    let churned: Vec<bool> = scored
        .iter()
        .map(|s| {
            let p = s.churn_probability * if s.decision == "target" { 0.67 } else { 1.0 };
            rng.gen::<f64>() < p
        })
        .collect();
    let mut client = OutcomeServiceClient::new(app.channel.clone());
    let reported = CUSTOMERS - 20;
    for (batch, range) in [(0, 0..100), (1, 100..200), (2, 200..reported)] {
        let mut outcomes: Vec<pb::Outcome> = range
            .map(|i| outcome(&scored[i].customer_id, churned[i], "2027-03-31"))
            .collect();
        if batch == 0 {
            // Two bad records among the good ones: they fail, the others are accepted.
            outcomes.insert(3, outcome("", true, ""));
            outcomes.insert(50, outcome("NEVER-SCORED-1", false, "2027-02-30"));
            outcomes.extend((2..6).map(|n| outcome(&format!("NEVER-SCORED-{n}"), false, "")));
        }
        let sent = outcomes.len();
        let reply = client
            .report_outcomes(pb::ReportOutcomesRequest { outcomes })
            .await
            .unwrap()
            .into_inner();
        if batch == 0 {
            let named: Vec<_> = reply
                .errors
                .iter()
                .map(|e| (e.index, e.field.as_str()))
                .collect();
            assert_eq!(named, [(3, "customer_id"), (50, "observed_on")]);
            assert!(
                reply.errors[1].problem.contains("no day 30"),
                "{:?}",
                reply.errors
            );
            assert_eq!(reply.accepted as usize, sent - 2);
        } else {
            assert!(reply.errors.is_empty(), "{:?}", reply.errors);
            assert_eq!(reply.accepted as usize, sent);
        }
    }
    let too_many = client
        .report_outcomes(pb::ReportOutcomesRequest {
            outcomes: vec![outcome("C", true, ""); bankscore::service::MAX_OUTCOMES_PER_CALL + 1],
        })
        .await
        .unwrap_err();
    assert_eq!(too_many.code(), tonic::Code::InvalidArgument);
    app.stop().await.unwrap();

    // No clear id on disk, and every line joins by the audit log's hash.
    let hasher = CustomerHasher::new(&key);
    let log = std::fs::read_to_string(&outcomes_path).unwrap();
    assert!(
        !log.contains(&scored[0].customer_id),
        "clear id in {log:.300}"
    );
    let first: OutcomeRecord = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(first.customer, hasher.hash(&scored[0].customer_id));
    assert_eq!(log.lines().count(), reported + 4);

    // The count done here: per action, targeted and control customers with an outcome.
    let mut expected: BTreeMap<&str, [u64; 2]> = BTreeMap::new();
    let mut by_decision: HashMap<&str, u64> = HashMap::new();
    for (i, s) in scored.iter().enumerate() {
        *by_decision.entry(s.decision).or_default() += 1;
        if i < reported && s.decision != "none" {
            let side = usize::from(s.decision == "control");
            expected.entry(s.action.as_str()).or_default()[side] += 1;
        }
    }
    assert!(
        by_decision.get("control").copied().unwrap_or(0) >= 3,
        "the control group holds some customers: {by_decision:?}"
    );

    let p = |f: &str| tmp.path().join(f).display().to_string();
    let out = Command::new(BIN)
        .args([
            "outcomes",
            "--audit",
            &p("audit.jsonl"),
            "--observed",
            &p("outcomes.jsonl"),
            "--models-dir",
            &models.display().to_string(),
            "--campaign",
            "real-time",
            "--report",
            &p("report.md"),
            "--history",
            &p("history.csv"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(tmp.path().join("report.md")).unwrap();
    let n = |d: &str| by_decision.get(d).copied().unwrap_or(0);
    assert!(
        report.contains(&format!(
            "{CUSTOMERS} customers by their last decision: {} targeted, {} control",
            n("target"),
            n("control")
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!("(1 file, {} records): ", CUSTOMERS + 10 + 5))
            && report.contains(
                "Left out: 5 records of RPCs that make no decision, 10 earlier decisions"
            ),
        "{report}"
    );
    assert!(report.contains("(unmatched): 4."), "{report}");
    for (action, [targeted, control]) in &expected {
        let row = table_row(&report, action).unwrap_or_else(|| panic!("no `{action}` in {report}"));
        assert_eq!(
            (row[1].as_str(), row[3].as_str()),
            (targeted.to_string().as_str(), control.to_string().as_str()),
            "{action}: {report}"
        );
    }
    let campaign = table_row(&report, "**campaign**").unwrap();
    let total: [u64; 2] = expected
        .values()
        .fold([0, 0], |a, c| [a[0] + c[0], a[1] + c[1]]);
    assert_eq!(campaign[1], total[0].to_string());
    assert_eq!(campaign[3], total[1].to_string());

    // The history: one row per targeted or control customer with an outcome.
    let history = std::fs::read_to_string(tmp.path().join("history.csv")).unwrap();
    let mut lines = history.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "customer_id");
    assert!(header.contains(&"tenure_months") && header.contains(&"has_mortgage"));
    assert_eq!(
        header[header.len() - 3..],
        ["action", "propensity", "churned"]
    );
    let rows: HashMap<String, Vec<String>> = lines
        .map(|l| {
            let cells: Vec<String> = l.split(',').map(str::to_owned).collect();
            (cells[0].clone(), cells)
        })
        .collect();
    assert_eq!(rows.len() as u64, total[0] + total[1]);
    for (i, s) in scored.iter().enumerate() {
        let row = rows.get(&hasher.hash(&s.customer_id));
        if i >= reported || s.decision == "none" {
            assert!(
                row.is_none(),
                "customer {i} ({}) in the history",
                s.decision
            );
            continue;
        }
        let row = row.unwrap_or_else(|| panic!("customer {i} missing from the history"));
        let action = if s.decision == "control" {
            "control"
        } else {
            s.action.as_str()
        };
        let tail = &row[row.len() - 3..];
        assert_eq!(tail[0], action, "customer {i}");
        assert_eq!(
            tail[1].parse::<f64>().unwrap(),
            s.propensity,
            "customer {i}"
        );
        assert_eq!(tail[2], if churned[i] { "1" } else { "0" }, "customer {i}");
    }

    // Measured as another campaign, every outcome (all reported for rt-2027) is left out and
    // counted; measured as rt-2027, the report is the one above.
    for (campaign_id, left_out) in [("q9", reported + 4), ("rt-2027", 0)] {
        let report = p(&format!("report-{campaign_id}.md"));
        let out = Command::new(BIN)
            .args(["outcomes", "--audit", &p("audit.jsonl"), "--observed"])
            .args([
                &p("outcomes.jsonl"),
                "--models-dir",
                &models.display().to_string(),
            ])
            .args([
                "--campaign",
                "real-time",
                "--campaign-id",
                campaign_id,
                "--report",
                &report,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&report).unwrap();
        let line = format!("Outcomes reported for other campaign ids (left out): {left_out}.");
        assert_eq!(text.contains(&line), left_out > 0, "{campaign_id}: {text}");
        let all_matched = text.contains("(unmatched): 4.");
        assert_eq!(all_matched, left_out == 0, "{campaign_id}: {text}");
    }
}

#[tokio::test]
async fn report_outcomes_without_an_outcomes_log_is_a_failed_precondition_naming_the_setting() {
    let app = spawn_app().await;
    let status = OutcomeServiceClient::new(app.channel.clone())
        .report_outcomes(pb::ReportOutcomesRequest {
            outcomes: vec![outcome("C-1", true, "")],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert!(
        status.message().contains("outcomes.path"),
        "{}",
        status.message()
    );
    app.stop().await.unwrap();
}
