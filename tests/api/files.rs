//! Offline file scoring and planning through the `bankscore` binary.

use crate::helpers::{run_bankscore as run, shipped_models};

#[test]
fn score_writes_one_row_per_good_customer_and_reports_bad_rows_by_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |f: &str| tmp.path().join(f).display().to_string();
    run(&[
        "generate",
        "--rows",
        "3000",
        "--seed",
        "5",
        "--out",
        &p("in.csv"),
    ]);
    // Break three rows: lines 2, 101 and 2001 (the header is line 1).
    let text = std::fs::read_to_string(p("in.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let break_field = |line: &mut String, column: usize, value: &str| {
        let mut cols: Vec<&str> = line.split(',').collect();
        cols[column] = value;
        *line = cols.join(",");
    };
    break_field(&mut lines[1], 1, "7"); // age_years
    break_field(&mut lines[100], 8, "NaN"); // balance_trend_3m
    break_field(&mut lines[2000], 4, "maybe"); // has_mortgage
    std::fs::write(p("in.csv"), lines.join("\n") + "\n").unwrap();

    let models = shipped_models().display().to_string();
    let summary = run(&[
        "score",
        "--input",
        &p("in.csv"),
        "--out",
        &p("scored.csv"),
        "--models-dir",
        &models,
    ]);
    assert!(summary.contains("scored 2997 customers"), "{summary}");
    assert!(summary.contains("rejected 3 rows"), "{summary}");
    assert!(
        summary.contains("customers per tier:") && summary.contains("best action:"),
        "{summary}"
    );
    let scored = std::fs::read_to_string(p("scored.csv")).unwrap();
    assert_eq!(scored.lines().count(), 1 + 2997);
    assert!(scored
        .lines()
        .next()
        .unwrap()
        .starts_with("customer_id,churn_probability,"));
    let rejects = std::fs::read_to_string(p("scored.rejects.csv")).unwrap();
    let rejects: Vec<&str> = rejects.lines().skip(1).collect();
    assert_eq!(rejects.len(), 3, "{rejects:?}");
    assert!(
        rejects[0].starts_with("2,C000000001,profile.age_years,7 is outside 18..=120"),
        "{}",
        rejects[0]
    );
    assert!(
        rejects[1]
            .starts_with("101,C000000100,profile.balance_trend_3m,NaN is not a finite number"),
        "{}",
        rejects[1]
    );
    assert!(
        rejects[2]
            .starts_with("2001,C000002000,profile.has_mortgage,\"`maybe` is not a yes/no value"),
        "{}",
        rejects[2]
    );

    // The same customers score the same offline and through the core.
    let model = bankscore::model_store::load_bundle(&shipped_models().join("churn/v1")).unwrap();
    let second = scored.lines().nth(2).unwrap(); // C000000003 (C000000001 was rejected)
    let mut g = bankscore::training::synthetic::Generator::new(5);
    let customers: Vec<_> = (0..3).map(|_| g.next_customer().profile).collect();
    let p_core = model.scoring.churn.probability(&customers[2]).unwrap();
    let p_file: f64 = second.split(',').nth(1).unwrap().parse().unwrap();
    assert!(second.starts_with("C000000003,"));
    assert_eq!(p_file, p_core);

    // Plan a campaign on it: the budget and capacity hold exactly.
    let out = run(&[
        "plan",
        "--scored",
        &p("scored.csv"),
        "--out",
        &p("plan.csv"),
        "--budget",
        "5000",
        "--capacity",
        "rm_call=20",
        "--campaign-id",
        "test",
        "--control-share",
        "0.1",
    ]);
    assert!(out.contains("naive (highest churn first)"), "{out}");
    let plan = std::fs::read_to_string(p("plan.csv")).unwrap();
    let rows: Vec<Vec<&str>> = plan
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 2997);
    let cost: f64 = rows.iter().map(|r| r[4].parse::<f64>().unwrap()).sum();
    assert!(cost <= 5000.0 + 1e-6, "cost {cost}");
    assert!(
        rows.iter()
            .filter(|r| r[1] == "target" && r[2] == "rm_call")
            .count()
            <= 20
    );
    let control = rows.iter().filter(|r| r[1] == "control").count();
    assert!(
        (200..400).contains(&control),
        "{control} in the control group"
    );
    for r in rows.iter().filter(|r| r[1] == "control") {
        assert!(bankscore::batch::plan::in_control_group(r[0], "test", 0.1));
    }
}

#[test]
fn parquet_and_csv_inputs_and_outputs_round_trip_to_the_same_scores() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    use arrow_array::Array;
    let tmp = tempfile::tempdir().unwrap();
    let p = |f: &str| tmp.path().join(f).display().to_string();
    let models = shipped_models().display().to_string();
    run(&[
        "generate",
        "--rows",
        "5000",
        "--seed",
        "8",
        "--out",
        &p("in.csv"),
    ]);
    run(&[
        "generate",
        "--rows",
        "5000",
        "--seed",
        "8",
        "--out",
        &p("in.parquet"),
    ]);
    run(&[
        "score",
        "--input",
        &p("in.csv"),
        "--out",
        &p("a.csv"),
        "--models-dir",
        &models,
    ]);
    run(&[
        "score",
        "--input",
        &p("in.parquet"),
        "--out",
        &p("b.csv"),
        "--models-dir",
        &models,
    ]);
    let (a, b) = (
        std::fs::read_to_string(p("a.csv")).unwrap(),
        std::fs::read_to_string(p("b.csv")).unwrap(),
    );
    assert_eq!(a.lines().count(), 5001);
    assert_eq!(a, b, "CSV and Parquet inputs score identically");

    run(&[
        "score",
        "--input",
        &p("in.parquet"),
        "--out",
        &p("c.parquet"),
        "--models-dir",
        &models,
    ]);
    let file = std::fs::File::open(p("c.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut probabilities = Vec::new();
    let mut coded = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        assert_eq!(batch.schema().field(1).name(), "churn_probability");
        // Tiers, actions and reasons are dictionary-coded names, the same text as in CSV.
        let name = |column: &str, i: usize| -> String {
            let c = batch.column_by_name(column).unwrap();
            let d = c.as_any_dictionary();
            let key = d.normalized_keys()[i];
            if c.is_null(i) {
                String::new()
            } else {
                d.values().as_string::<i32>().value(key).to_owned()
            }
        };
        for i in 0..batch.num_rows() {
            coded.push(format!(
                "{},{},{}",
                name("tier", i),
                name("best_action", i),
                name("reason_1", i)
            ));
        }
        probabilities.extend(
            batch
                .column(1)
                .as_primitive::<Float64Type>()
                .values()
                .iter()
                .copied(),
        );
    }
    let from_csv: Vec<f64> = a
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        probabilities, from_csv,
        "the Parquet output holds the same probabilities, bit for bit"
    );
    let coded_csv: Vec<String> = a
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            format!("{},{},{}", c[7], c[9], c[11])
        })
        .collect();
    assert_eq!(coded, coded_csv);
    assert!(
        coded.iter().all(|c| !c.ends_with(',')),
        "every customer has reasons"
    );
}

#[test]
fn a_parquet_profile_column_of_text_is_refused_at_open_naming_it() {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("text.parquet");
    let text = |v: &[&str]| Arc::new(StringArray::from(v.to_vec())) as ArrayRef;
    let batch = RecordBatch::try_from_iter([
        ("customer_id", text(&["C1", "C2"])),
        ("age_years", text(&["40", "fifty"])),
    ])
    .unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&input).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bankscore"))
        .args(["score", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(tmp.path().join("out.csv"))
        .arg("--models-dir")
        .arg(shipped_models())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("column age_years is Utf8, expected a number or boolean"),
        "{stderr}"
    );
}
