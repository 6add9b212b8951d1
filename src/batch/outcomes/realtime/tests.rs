//! The join rules of real-time decisions and observed outcomes, on hand-made audit records.

use std::path::{Path, PathBuf};

use super::*;
use crate::audit::outputs::{Outputs, ValueParts};
use crate::audit::record::{now, DecisionRecord, ScoredInputs};
use crate::audit::{CustomerHasher, HashKey, Rpc};
use crate::batch::outcomes::observed::read_observed;
use crate::domain::profile::tests::sample_profile;
use crate::domain::AssessOptions;
use crate::model_store::{load_bundle, ModelId};

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

fn shipped_id() -> ModelId {
    load_bundle(&models_dir().join("churn/v1")).unwrap().id
}

fn chosen(action: &str, withheld: Option<&str>) -> Chosen {
    Chosen {
        action: action.into(),
        expected_value: (action != "no_action").then_some(12.5),
        propensity: Some(if withheld.is_some() { 0.3 } else { 0.7 }),
        withheld: withheld.map(str::to_owned),
    }
}

/// One audit line for `customer` (already a hash) deciding `decision` with value at risk 1,000.
fn line(id: &ModelId, rpc: Rpc, customer: &str, decision: Option<Chosen>) -> String {
    let profile = sample_profile();
    let record = DecisionRecord {
        trace_id: None,
        time: now(),
        request_id: "req",
        rpc,
        record: None,
        customer: customer.into(),
        model: id.into(),
        options: AssessOptions::default().into(),
        inputs: ScoredInputs(&profile),
        outputs: Outputs {
            churn_probability: 0.2,
            value: Some(ValueParts {
                realized: 100.0,
                potential: 900.0,
                influence: 0.0,
                total: 1_000.0,
                value_at_risk: 1_000.0,
            }),
            tier: None,
            key_account: None,
            decision,
        },
    };
    String::from_utf8(record.to_line()).unwrap()
}

fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, lines.concat()).unwrap();
    path
}

#[test]
fn a_withheld_action_is_control_an_action_is_target_and_no_action_is_none() {
    assert_eq!(
        assign(&chosen("no_action", Some("fee_waiver"))),
        (Decision::Control, "fee_waiver")
    );
    assert_eq!(
        assign(&chosen("rm_call", None)),
        (Decision::Target, "rm_call")
    );
    assert_eq!(assign(&chosen("no_action", None)), (Decision::None, ""));
}

#[test]
fn the_last_decision_of_a_customer_counts_and_records_without_a_decision_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let id = shipped_id();
    let score = |customer: &str, c: Chosen| line(&id, Rpc::Score, customer, Some(c));
    let older = write(
        dir.path(),
        "audit.1.jsonl",
        &[
            score("h-a", chosen("rm_call", None)),
            score("h-b", chosen("no_action", Some("fee_waiver"))),
            line(&id, Rpc::PredictChurn, "h-c", None),
        ],
    );
    let live = write(
        dir.path(),
        "audit.jsonl",
        &[
            // h-a decided again: now in the control group.
            line(
                &id,
                Rpc::ScoreStream,
                "h-a",
                Some(chosen("no_action", Some("autopay_setup"))),
            ),
            score("h-d", chosen("fee_waiver", None)),
            score("h-e", chosen("no_action", None)),
        ],
    );
    let d = read_audit_decisions(&[older.clone(), live.clone()], &models_dir(), false).unwrap();
    let rows: Vec<_> = d
        .rows
        .iter()
        .map(|r| {
            (
                r.customer_id.as_str(),
                r.decision,
                r.action.as_str(),
                r.cost,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("h-a", Decision::Control, "autopay_setup", 0.0),
            ("h-b", Decision::Control, "fee_waiver", 0.0),
            // fee_waiver costs 30 in the shipped catalog.
            ("h-d", Decision::Target, "fee_waiver", 30.0),
            ("h-e", Decision::None, "", 0.0),
        ]
    );
    assert_eq!(d.rows[0].line, 1, "line of the record that counts");
    assert_eq!(d.file_of, [1, 0, 1, 1]);
    assert_eq!(d.rows[0].value_at_risk, 1_000.0);
    assert_eq!(d.rows[0].propensity, 0.3);
    assert_eq!(
        d.coverage,
        AuditCoverage {
            files: 2,
            records: 6,
            without_decision: 1,
            superseded: 1,
            other_campaign_outcomes: 0,
        }
    );
    assert!(
        d.entries.iter().all(|e| e.inputs.is_empty()),
        "inputs are dropped unless a history is asked for"
    );
}

#[test]
fn bad_audit_input_is_named_by_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let id = shipped_id();
    let control = line(
        &id,
        Rpc::Score,
        "h-b",
        Some(chosen("no_action", Some("rm_call"))),
    );
    let cases: Vec<(String, &str)> = vec![
        ("{\"time\": 3}\n".into(), "line 2, field time"),
        (
            line(&id, Rpc::Score, "h-a", Some(chosen("no_such_action", None))),
            "line 2, field outputs.decision.action: `no_such_action` is not in the catalog",
        ),
        (
            line(&id, Rpc::Score, "h-a", Some(chosen("rm_call", None)))
                .replace(&*id.checksum, "0000"),
            "line 2, field model: checksum mismatch",
        ),
        (
            line(&id, Rpc::Score, "h-a", Some(chosen("rm_call", None)))
                .replace("\"decision\"", "\"decisions\""),
            "line 2, field outputs",
        ),
    ];
    for (bad_line, expected) in cases {
        let path = write(dir.path(), "audit.jsonl", &[control.clone(), bad_line]);
        let e = read_audit_decisions(&[path], &models_dir(), false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("audit.jsonl line") && e.contains(expected),
            "{expected}: {e}"
        );
    }
    let no_control = write(
        dir.path(),
        "audit.jsonl",
        &[line(&id, Rpc::Score, "h-a", Some(chosen("rm_call", None)))],
    );
    let e = read_audit_decisions(&[no_control], &models_dir(), false)
        .err()
        .unwrap();
    assert!(matches!(e, OutcomesError::NoRealTimeControl { .. }), "{e}");
}

#[test]
fn observed_outcomes_join_by_hash_from_the_outcomes_log_or_a_csv_hashed_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("outcomes.jsonl");
    std::fs::write(
        &log,
        "{\"time\":\"t\",\"customer\":\"h-a\",\"churned\":true}\n\n\
         {\"time\":\"t\",\"customer\":\"h-b\",\"churned\":false,\"observed_on\":\"2027-01-02\"}\n\
         {\"time\":\"t\",\"customer\":\"h-a\",\"churned\":false,\"campaign_id\":\"q1\"}\n",
    )
    .unwrap();
    let (o, other_campaigns) = read_observed(&log, None, None).unwrap();
    assert_eq!((o.len(), other_campaigns), (2, 0));
    assert_eq!(
        o["h-a"],
        (false, 4),
        "a later report corrects an earlier one"
    );
    assert_eq!(o["h-b"], (false, 3));
    // Measuring campaign q2: q1's report is set aside, those without a campaign id count.
    let (o, other_campaigns) = read_observed(&log, None, Some("q2")).unwrap();
    assert_eq!(other_campaigns, 1);
    assert_eq!((o["h-a"], o["h-b"]), ((true, 1), (false, 3)));
    let (o, other_campaigns) = read_observed(&log, None, Some("q1")).unwrap();
    assert_eq!((o["h-a"], other_campaigns), ((false, 4), 0));

    let csv = dir.path().join("observed.csv");
    std::fs::write(&csv, "customer_id,churned\nC-1,1\nC-2,false\n").unwrap();
    let key = HashKey::new("k");
    let hasher = CustomerHasher::new(&key);
    let (o, _) = read_observed(&csv, Some(&key), None).unwrap();
    assert!(o[&hasher.hash("C-1")].0);
    assert!(!o[&hasher.hash("C-2")].0);
    assert!(!o.contains_key("C-1"), "no clear id is a key");

    let e = read_observed(&csv, None, None).unwrap_err();
    assert!(matches!(e, OutcomesError::NoHashKey { .. }), "{e}");
    assert!(e.to_string().contains("BANKSCORE_AUDIT_HASH_KEY"), "{e}");

    std::fs::write(
        &log,
        "{\"time\":\"t\",\"customer\":\"h-a\",\"churned\":\"yes\"}\n",
    )
    .unwrap();
    let e = read_observed(&log, None, None).unwrap_err().to_string();
    assert!(e.contains("outcomes.jsonl line 1, field churned"), "{e}");
}

#[test]
fn the_history_columns_are_the_training_columns_from_the_recorded_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let id = shipped_id();
    let path = write(
        dir.path(),
        "audit.jsonl",
        &[
            line(&id, Rpc::Score, "h-a", Some(chosen("rm_call", None))),
            line(
                &id,
                Rpc::Score,
                "h-b",
                Some(chosen("no_action", Some("rm_call"))),
            ),
            line(&id, Rpc::Score, "h-c", Some(chosen("no_action", None))),
        ],
    );
    let files = [path];
    let d = read_audit_decisions(&files, &models_dir(), true).unwrap();
    // h-b has no outcome, h-c no action: only h-a is in the history.
    let c = customers_of(&files, &d, &[Some(true), None, Some(false)]).unwrap();
    let mut out = Vec::new();
    super::super::history::write_history(&mut out, &c, &d.rows, &[Some(true), None, Some(false)])
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut expected = vec!["customer_id"];
    expected.extend(BuiltinFeature::ALL.iter().map(|f| f.name()));
    expected.extend(["action", "propensity", "churned"]);
    assert_eq!(header, expected.join(","));
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(row[0], "h-a");
    let p = sample_profile();
    for (i, f) in BuiltinFeature::ALL.iter().enumerate() {
        assert_eq!(row[i + 1], f.value(&p).to_string(), "{}", f.name());
    }
    assert_eq!(row[row.len() - 3..], ["rm_call", "0.7", "1"]);
    assert_eq!(lines.next(), None);
}
