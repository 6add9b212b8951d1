//! `train-uplift --validation-history`: every history row is fitted, the evaluation runs on the
//! validation file's arms and says so; a bad validation file is refused, before any fit, naming
//! the file and the column or row.

use std::path::{Path, PathBuf};
use std::process::Command;

use bankscore::model_store::format::{UpliftFile, UpliftKind};
use bankscore::model_store::load_bundle;
use bankscore::training::campaign_history::write_campaign_history_csv;
use bankscore::training::uplift::{train_uplift, UpliftSettings, CONTROL};

const BIN: &str = env!("CARGO_BIN_EXE_bankscore");

fn shipped_bundle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/churn/v1")
}

fn write_history(path: &Path, rows: u64, seed: u64) {
    let file = std::fs::File::create(path).unwrap();
    write_campaign_history_csv(file, rows, seed, 0.25).unwrap();
}

/// How many rows of `path` got each arm (`control` or an action id).
fn arm_sizes(path: &Path) -> std::collections::BTreeMap<String, u64> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "action")
        .unwrap();
    let mut sizes = std::collections::BTreeMap::new();
    for record in reader.records() {
        *sizes.entry(record.unwrap()[column].to_owned()).or_default() += 1;
    }
    sizes
}

#[test]
fn train_uplift_with_a_validation_history_fits_every_row_and_evaluates_on_the_files_arms() {
    let tmp = tempfile::tempdir().unwrap();
    let (history, valid) = (tmp.path().join("history.csv"), tmp.path().join("valid.csv"));
    write_history(&history, 8_000, 1);
    write_history(&valid, 4_000, 2);
    let out = tmp.path().join("models/churn/v2");
    let run = Command::new(BIN)
        .arg("train-uplift")
        .arg("--bundle")
        .arg(shipped_bundle())
        .arg("--history")
        .arg(&history)
        .arg("--validation-history")
        .arg(&valid)
        .arg("--out")
        .arg(&out)
        .args(["--min-churners", "20"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("evaluated on valid.csv"), "{stdout}");

    let text = std::fs::read_to_string(out.join("uplift/evaluation.json")).unwrap();
    let report: UpliftFile = serde_json::from_str(&text).expect("evaluation.json reads back");
    assert_eq!(report.training.validation, "valid.csv");
    assert_eq!(report.training.validation_share, 0.0);
    assert_eq!(report.history.rows, 8_000);

    let fitted = arm_sizes(&history);
    let evaluated = arm_sizes(&valid);
    let mut learned = 0;
    for a in &report.actions {
        assert_eq!(a.treated_rows, fitted[&a.action], "{}", a.action);
        let Some(e) = &a.evaluation else {
            assert_eq!(a.uplift, UpliftKind::Prior, "{}", a.action);
            continue;
        };
        learned += 1;
        assert_eq!(e.treated_rows, evaluated[&a.action], "{}", a.action);
        assert_eq!(e.control_rows, evaluated[CONTROL], "{}", a.action);
    }
    assert!(learned >= 5, "only {learned} actions learned: {text}");

    let card = std::fs::read_to_string(out.join("MODEL_CARD.md")).unwrap();
    assert!(
        card.contains("evaluated on the campaign history `valid.csv`"),
        "{card}"
    );
    load_bundle(&out).expect("the new version loads");
}

#[test]
fn train_uplift_refuses_a_bad_validation_history_naming_the_file_column_and_row() {
    let tmp = tempfile::tempdir().unwrap();
    let history = tmp.path().join("history.csv");
    write_history(&history, 8_000, 1);
    let good_file = tmp.path().join("good.csv");
    write_history(&good_file, 2_000, 2);
    let good = std::fs::read_to_string(&good_file).unwrap();
    let header: Vec<&str> = good.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();

    // Each case edits the good file: (what, edit, words the error must contain).
    let set = |row: usize, column: usize, value: &'static str| {
        move |text: &str| -> String {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let mut cells: Vec<&str> = lines[row].split(',').collect();
            cells[column] = value;
            lines[row] = cells.join(",");
            lines.join("\n") + "\n"
        }
    };
    let drop_column = |column: usize| {
        move |text: &str| -> String {
            text.lines()
                .map(|l| {
                    let mut cells: Vec<&str> = l.split(',').collect();
                    cells.remove(column);
                    cells.join(",") + "\n"
                })
                .collect()
        }
    };
    let drop_arm = |arm: &'static str| {
        move |text: &str| -> String {
            text.lines()
                .filter(|l| !l.split(',').any(|c| c == arm))
                .map(|l| l.to_owned() + "\n")
                .collect()
        }
    };
    type Edit<'a> = Box<dyn Fn(&str) -> String + 'a>;
    let cases: Vec<(&str, Edit, &[&str])> = vec![
        (
            "a missing feature column",
            Box::new(drop_column(col("tenure_months"))),
            &["no column `tenure_months`"],
        ),
        (
            "no action column",
            Box::new(drop_column(col("action"))),
            &["no `action` column"],
        ),
        (
            "an action the catalog lacks",
            Box::new(set(3, col("action"), "free_toaster")),
            &["row 3 (line 4), column `action`", "`free_toaster`"],
        ),
        (
            "an outcome that is not 0/1",
            Box::new(set(2, col("churned"), "2")),
            &["row 2 (line 3), label `churned`", "`2`"],
        ),
        (
            "a feature that is not a number",
            Box::new(set(5, col("age_years"), "forty")),
            &["row 5 (line 6), column `age_years`", "`forty`"],
        ),
        (
            "no control group",
            Box::new(drop_arm(CONTROL)),
            &["no `control` rows"],
        ),
        (
            "no rows of an action to evaluate",
            Box::new(drop_arm("rm_call")),
            &["no `rm_call` rows"],
        ),
    ];
    for (i, (what, edit, words)) in cases.iter().enumerate() {
        let valid = tmp.path().join(format!("bad_{i}.csv"));
        std::fs::write(&valid, edit(&good)).unwrap();
        let out = tmp.path().join(format!("models/churn/bad{i}"));
        let mut settings = UpliftSettings::new(shipped_bundle(), history.clone(), out.clone());
        settings.validation_history = Some(valid.clone());
        settings.min_churners = 20;
        let err = match train_uplift(&settings) {
            Ok(_) => panic!("{what}: the validation history was accepted"),
            Err(e) => bankscore::one_line(&e),
        };
        assert!(
            err.contains(&valid.display().to_string()),
            "{what}: the file is not named: {err}"
        );
        for w in *words {
            assert!(err.contains(w), "{what}: `{w}` missing from: {err}");
        }
        assert!(!out.exists(), "{what}: a bundle was left behind");
    }
}
