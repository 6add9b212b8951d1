//! `bankscore outcomes` through the binary: generate → score → plan → synthetic outcomes →
//! outcomes, with the report checked against a count done here, the history's columns and rows,
//! and bad inputs refused by file, column and line with nothing written.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use bankscore::batch::outcomes::Z_95;
use rand::{Rng, SeedableRng};

use crate::helpers::{run_bankscore as run, shipped_models};

const BIN: &str = env!("CARGO_BIN_EXE_bankscore");

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// The cells of the Markdown table row whose first cell is `name`.
fn table_row(report: &str, name: &str) -> Vec<String> {
    report
        .lines()
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .find(|cells| cells[0] == name)
        .unwrap_or_else(|| panic!("no row `{name}` in\n{report}"))
}

/// Percentage points as the report prints them.
fn pp(share: f64) -> String {
    format!("{:.1}", share * 100.0).replace("-0.0", "0.0")
}

#[derive(Default, Clone, Copy)]
struct Count {
    targeted: u64,
    targeted_churned: u64,
    control: u64,
    control_churned: u64,
    cost: f64,
    value_at_risk: f64,
}

#[test]
fn outcomes_report_matches_a_count_done_by_hand_and_the_history_carries_the_customer_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |f: &str| tmp.path().join(f).display().to_string();
    let models = shipped_models().display().to_string();
    // Few customers have an action worth its cost: 20,000 customers and half of them in the
    // control group give a few hundred on each side.
    run(&[
        "generate",
        "--rows",
        "20000",
        "--seed",
        "17",
        "--out",
        &p("customers.csv"),
    ]);
    run(&[
        "score",
        "--input",
        &p("customers.csv"),
        "--out",
        &p("scored.csv"),
        "--models-dir",
        &models,
    ]);
    run(&[
        "plan",
        "--scored",
        &p("scored.csv"),
        "--out",
        &p("plan.csv"),
        "--budget",
        "40000",
        "--campaign-id",
        "2026-q1",
        "--control-share",
        "0.5",
    ]);

    // Seeded outcomes: churn with the scored probability, 40% less when targeted; every 40th
    // customer has no outcome yet; 25 outcomes belong to customers outside the plan.
    let (sh, scored) = csv_rows(&tmp.path().join("scored.csv"));
    let churn_col = sh.iter().position(|h| h == "churn_probability").unwrap();
    let p_churn: HashMap<&str, f64> = scored
        .iter()
        .map(|r| (r[0].as_str(), r[churn_col].parse().unwrap()))
        .collect();
    let (header, plan) = csv_rows(&tmp.path().join("plan.csv"));
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
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let mut observed = String::from("customer_id,churned\n");
    let mut churned: HashMap<String, bool> = HashMap::new();
    for (i, r) in plan.iter().enumerate() {
        let p = p_churn[r[0].as_str()] * if r[1] == "target" { 0.6 } else { 1.0 };
        let c = rng.gen::<f64>() < p;
        if i % 40 == 7 {
            continue;
        }
        churned.insert(r[0].clone(), c);
        // Both spellings a bank's file may use.
        let value = if i % 2 == 0 {
            u8::from(c).to_string()
        } else {
            c.to_string()
        };
        observed.push_str(&format!("{},{value}\n", r[0]));
    }
    for i in 0..25 {
        observed.push_str(&format!("X{i:09},0\n"));
    }
    std::fs::write(p("observed.csv"), observed).unwrap();

    let (plan_csv, observed_csv, customers_csv) =
        (p("plan.csv"), p("observed.csv"), p("customers.csv"));
    let measure = |more: &[&str]| {
        let mut args = vec![
            "outcomes",
            "--decisions",
            &plan_csv,
            "--outcomes",
            &observed_csv,
            "--customers",
            &customers_csv,
            "--campaign",
            "2026-q1",
        ];
        args.extend_from_slice(more);
        run(&args)
    };
    let stdout = measure(&[
        "--report",
        &p("report.md"),
        "--html",
        &p("report.html"),
        "--history",
        &p("history.csv"),
    ]);

    // The count, done here.
    let mut per_action: HashMap<String, Count> = HashMap::new();
    let mut campaign = Count::default();
    let (mut no_outcome_targeted, mut history_rows) = (0, Vec::new());
    for r in &plan {
        let Some(&c) = churned.get(&r[0]) else {
            no_outcome_targeted += u64::from(r[1] == "target");
            continue;
        };
        if r[1] != "none" {
            history_rows.push(r.clone());
        }
        if r[1] == "none" || r[2].is_empty() {
            continue;
        }
        for count in [per_action.entry(r[2].clone()).or_default(), &mut campaign] {
            if r[1] == "target" {
                count.targeted += 1;
                count.targeted_churned += u64::from(c);
                count.cost += r[4].parse::<f64>().unwrap();
                count.value_at_risk += r[5].parse::<f64>().unwrap();
            } else {
                count.control += 1;
                count.control_churned += u64::from(c);
            }
        }
    }
    assert!(per_action.len() >= 2, "a campaign of several actions");
    assert!(campaign.control >= 100 && campaign.targeted >= 100);

    let report = std::fs::read_to_string(p("report.md")).unwrap();
    assert!(report.starts_with("# Campaign `2026-q1`"), "{report}");
    assert!(report.contains("Wald interval for a difference of two proportions"));
    assert!(report.contains(&format!("No outcome yet: {no_outcome_targeted} targeted")));
    assert!(report.contains("(unmatched): 25."), "{report}");
    let mut names: Vec<&String> = per_action.keys().collect();
    names.sort();
    for (name, count) in names
        .iter()
        .map(|n| (n.as_str(), per_action[*n]))
        .chain([("**campaign**", campaign)])
    {
        let row = table_row(&report, name);
        let (nt, kt, nc, kc) = (
            count.targeted as f64,
            count.targeted_churned as f64,
            count.control as f64,
            count.control_churned as f64,
        );
        assert_eq!(row[1], count.targeted.to_string(), "{name}");
        assert_eq!(row[3], count.control.to_string(), "{name}");
        if count.targeted == 0 || count.control == 0 {
            continue;
        }
        let (pt, pc) = (kt / nt, kc / nc);
        assert_eq!(row[2], format!("{:.1}%", pt * 100.0), "{name}");
        assert_eq!(row[4], format!("{:.1}%", pc * 100.0), "{name}");
        let d = pc - pt;
        let half = Z_95 * (pt * (1.0 - pt) / nt + pc * (1.0 - pc) / nc).sqrt();
        assert_eq!(row[5], pp(d), "{name}");
        assert_eq!(
            row[6],
            format!("{} to {}", pp(d - half), pp(d + half)),
            "{name}"
        );
        let money = |s: &str| s.replace(',', "").parse::<f64>().unwrap();
        let retained = d * nt * (count.value_at_risk / nt);
        assert!(
            (money(&row[8]) - retained).abs() <= 1.0,
            "{name}: {row:?} vs {retained}"
        );
        assert!(
            (money(&row[9]) - count.cost).abs() <= 1.0,
            "{name}: {row:?}"
        );
        if count.cost > 0.0 {
            let roi = (retained - count.cost) / count.cost;
            assert_eq!(row[10], format!("{roi:.1}"), "{name}");
        }
        let small = count.targeted < 30
            || count.control < 30
            || count.targeted_churned < 5
            || count.control_churned < 5;
        assert_eq!(row[11] == "too small to tell", small, "{name}: {row:?}");
    }
    assert!(
        stdout.contains("reduction") && stdout.contains("campaign"),
        "{stdout}"
    );

    // The same measurement as one JSON document for scripts.
    let json: serde_json::Value =
        serde_json::from_str(&measure(&["--report", &p("report-again.md"), "--json"])).unwrap();
    let lift = &json["measured"]["campaign_lift"];
    assert_eq!(json["measured"]["campaign"], "2026-q1");
    assert_eq!(json["measured"]["unmatched_outcomes"], 25);
    assert_eq!(lift["targeted"]["customers"], campaign.targeted);
    assert_eq!(lift["targeted"]["churned"], campaign.targeted_churned);
    assert_eq!(lift["control"]["customers"], campaign.control);
    assert_eq!(lift["control"]["churned"], campaign.control_churned);
    assert_eq!(
        json["measured"]["per_action"].as_array().unwrap().len(),
        per_action.len()
    );

    let html = std::fs::read_to_string(p("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg"));

    // History: the customer's columns (their old label gives way), then action, propensity,
    // churned; targeted and control customers with an outcome, in plan order.
    let (customer_header, customers) = csv_rows(&tmp.path().join("customers.csv"));
    let (history_header, history) = csv_rows(&tmp.path().join("history.csv"));
    let mut expected: Vec<String> = customer_header
        .iter()
        .filter(|h| *h != "churned")
        .cloned()
        .collect();
    expected.extend(["action", "propensity", "churned"].map(String::from));
    assert_eq!(history_header, expected);
    assert_eq!(history.len(), history_rows.len());
    let by_id: HashMap<&str, &Vec<String>> = customers.iter().map(|r| (r[0].as_str(), r)).collect();
    let n = history_header.len();
    for (h, d) in history.iter().zip(&history_rows) {
        assert_eq!(h[0], d[0]);
        let customer: Vec<&String> = by_id[d[0].as_str()][..customer_header.len() - 1]
            .iter()
            .collect();
        assert_eq!(h[..n - 3].iter().collect::<Vec<_>>(), customer, "{}", d[0]);
        let action = if d[1] == "target" {
            d[2].as_str()
        } else {
            "control"
        };
        assert_eq!(h[n - 3], action);
        assert_eq!(h[n - 2], d[6], "the plan's propensity: {}", d[0]);
        assert_eq!(h[n - 1], u8::from(churned[&d[0]]).to_string());
    }
}

const PLAN: &str = "customer_id,decision,action,expected_value,cost,value_at_risk,propensity\n\
                    A,target,fee_waiver,10,5,1000,1\n\
                    B,control,fee_waiver,0,0,900,1\n\
                    C,none,,0,0,100,1\n";
const OBSERVED: &str = "customer_id,churned\nA,0\nB,1\nC,0\n";
const CUSTOMERS: &str = "customer_id,age_years,churned\nA,30,0\nB,41,1\nC,52,0\n";

#[test]
fn bad_inputs_are_refused_naming_file_column_and_line_and_nothing_is_written() {
    let no_propensity = PLAN.replace(",propensity", "").replace(",1\n", "\n");
    let twice_in_plan = format!("{PLAN}A,none,,0,0,1,1\n");
    let no_control = PLAN.replace("B,control", "B,none");
    let cases: [(&str, String, &str, &str, bool, &str); 9] = [
        ("a missing column", no_propensity, OBSERVED, CUSTOMERS, true, "plan.csv line 1: no `propensity` column"),
        ("a customer twice in the plan", twice_in_plan, OBSERVED, CUSTOMERS, true,
         "plan.csv line 5, column customer_id: customer `A` appears twice (first on line 2)"),
        ("a customer twice in the outcomes", PLAN.into(), "customer_id,churned\nA,0\nB,1\nA,1\n", CUSTOMERS, true,
         "observed.csv line 4, column customer_id: customer `A` appears twice (first on line 2)"),
        ("an outcome that is not 0/1/true/false", PLAN.into(), "customer_id,churned\nA,0\nB,yes\n", CUSTOMERS, true,
         "observed.csv line 3, column churned: `yes` is not 0, 1, true or false"),
        ("an unknown decision", PLAN.replace("C,none", "C,maybe"), OBSERVED, CUSTOMERS, true,
         "plan.csv line 4, column decision: `maybe` is not target, control or none"),
        ("a cost that is not a number", PLAN.replace("fee_waiver,10,5", "fee_waiver,10,five"), OBSERVED, CUSTOMERS, true,
         "plan.csv line 2, column cost: `five` is not a finite number"),
        ("history without customers", PLAN.into(), OBSERVED, "", true, "--history needs --customers"),
        ("a planned customer missing from the customers", PLAN.into(), OBSERVED,
         "customer_id,age_years\nA,30\nC,52\n", true,
         "plan.csv line 3, column customer_id: customer `B` is not in"),
        ("no control rows", no_control, OBSERVED, CUSTOMERS, false,
         "plan.csv, column decision: no `control` rows, so the campaign's lift cannot be measured"),
    ];
    for (case, plan, observed, customers, history, message) in cases {
        let inputs = tempfile::tempdir().unwrap();
        let outputs = tempfile::tempdir().unwrap();
        let input = |f: &str, text: &str| {
            let path = inputs.path().join(f);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let out = |f: &str| outputs.path().join(f).display().to_string();
        let mut args = vec![
            "outcomes".to_owned(),
            "--decisions".into(),
            input("plan.csv", &plan),
            "--outcomes".into(),
            input("observed.csv", observed),
            "--report".into(),
            out("report.md"),
            "--html".into(),
            out("report.html"),
        ];
        if history {
            args.extend(["--history".into(), out("history.csv")]);
        }
        if !customers.is_empty() {
            args.extend(["--customers".into(), input("customers.csv", customers)]);
        }
        let result = Command::new(BIN).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{case}: succeeded");
        assert!(
            stderr.contains(message),
            "{case}: expected `{message}` in\n{stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(outputs.path()).unwrap().collect();
        assert!(left.is_empty(), "{case}: files were written: {left:?}");
    }
}

#[test]
fn outcomes_missing_on_either_side_are_counted_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = |f: &str| dir.path().join(f).display().to_string();
    std::fs::write(path("plan.csv"), PLAN).unwrap();
    // A has no outcome yet; Z is not in the plan.
    std::fs::write(
        path("observed.csv"),
        "customer_id,churned\nB,true\nC,false\nZ,1\n",
    )
    .unwrap();
    std::fs::write(path("customers.csv"), CUSTOMERS).unwrap();
    let stdout = run(&[
        "outcomes",
        "--decisions",
        &path("plan.csv"),
        "--outcomes",
        &path("observed.csv"),
        "--customers",
        &path("customers.csv"),
        "--report",
        &path("report.md"),
        "--history",
        &path("history.csv"),
    ]);
    assert!(
        stdout
            .contains("no outcome yet: 1 targeted, 0 control, 0 no action; unmatched outcomes: 1"),
        "{stdout}"
    );
    let report = std::fs::read_to_string(path("report.md")).unwrap();
    assert!(
        report.contains("No outcome yet: 1 targeted, 0 control, 0 no action"),
        "{report}"
    );
    assert!(
        report.contains("`fee_waiver` has no targeted customer with a known outcome"),
        "{report}"
    );
    assert_eq!(
        std::fs::read_to_string(path("history.csv")).unwrap(),
        "customer_id,age_years,action,propensity,churned\nB,41,control,1,1\n"
    );
}
