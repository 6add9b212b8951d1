//! Training: a bundle from a synthetic CSV loads, reproduces its probabilities, and a model with
//! an extra feature requires it over gRPC. Bad data gets errors naming the column or row.

use std::io::Write;
use std::path::Path;

use bankscore::domain::profile::BuiltinFeature;
use bankscore::model_store::load_bundle;
use bankscore::service::pb;
use bankscore::training::synthetic::Generator;
use bankscore::training::{train, TrainSettings};

use crate::helpers::{context, spawn_app_on};

/// Writes `rows` synthetic customers plus an `extra.app_rating` column that lowers churn.
fn write_csv_with_extra(path: &Path, rows: usize) {
    let mut g = Generator::new(99);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let names: Vec<&str> = BuiltinFeature::ALL.iter().map(|b| b.name()).collect();
    writeln!(
        f,
        "customer_id,{},extra.app_rating,churned",
        names.join(",")
    )
    .unwrap();
    for i in 0..rows {
        let c = g.next_customer();
        let values: Vec<String> = BuiltinFeature::ALL
            .iter()
            .map(|b| b.value(&c.profile).to_string())
            .collect();
        let rating = if c.churned {
            2.0 + (i % 3) as f64
        } else {
            3.0 + (i % 3) as f64
        };
        writeln!(
            f,
            "{},{},{rating},{}",
            c.profile.customer_id,
            values.join(","),
            u8::from(c.churned)
        )
        .unwrap();
    }
}

#[tokio::test]
async fn a_trained_bundle_serves_and_requires_its_extra_feature() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("train.csv");
    write_csv_with_extra(&csv, 5_000);
    let mut settings = TrainSettings::new(csv);
    settings.features = Some(vec![
        "tenure_months".into(),
        "complaints_12m".into(),
        "extra.app_rating".into(),
    ]);
    let bundle = train(&settings).expect("training succeeds");
    let rating = bundle
        .model
        .features
        .iter()
        .find(|f| f.name == "extra.app_rating")
        .unwrap();
    assert!(
        rating.coefficient < 0.0,
        "a higher rating lowers churn: {rating:?}"
    );
    let complaints = bundle
        .model
        .features
        .iter()
        .find(|f| f.name == "complaints_12m")
        .unwrap();
    assert!(
        complaints.coefficient > 0.0,
        "complaints raise churn: {complaints:?}"
    );
    assert!(bundle.metadata.metrics.roc_auc > 0.7);

    let dir = tmp.path().join("models/churn-app/v1");
    bundle.write(&dir).unwrap();
    let loaded = load_bundle(&dir).expect("written bundle loads");
    assert_eq!(
        loaded.scoring.churn.features(),
        bundle.model.features.as_slice()
    );

    let mut app = spawn_app_on(&tmp.path().join("models")).await;
    let mut profile: pb::CustomerProfile = (&Generator::new(5).next_customer().profile).into();
    let status = app
        .client
        .predict_churn(pb::PredictChurnRequest {
            context: context("x"),
            profile: Some(profile.clone()),
            max_reasons: 3,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().starts_with(
            "profile.extra_features[\"app_rating\"]: is required by the model churn-app version v1"
        ),
        "{}",
        status.message()
    );
    profile.extra_features.insert("app_rating".into(), 4.0);
    let reply = app
        .client
        .predict_churn(pb::PredictChurnRequest {
            context: context("y"),
            profile: Some(profile),
            max_reasons: 3,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.model.unwrap().name, "churn-app");
    let reasons: Vec<String> = reply
        .churn
        .unwrap()
        .top_reasons
        .into_iter()
        .map(|r| r.feature)
        .collect();
    assert_eq!(reasons.len(), 3);
    assert!(reasons.contains(&"extra.app_rating".to_owned()));
    app.stop().await.unwrap();
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn bad_training_data_is_refused_with_the_column_or_row_named() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("bad.csv");
    let header =
        "tenure_months,complaints_12m,annual_margin,referrals_12m,days_since_last_activity,churned";
    let features = Some(vec![
        "tenure_months".to_owned(),
        "complaints_12m".to_owned(),
    ]);
    let run = |body: &str, features: Option<Vec<String>>| {
        write(&csv, body);
        let mut s = TrainSettings::new(csv.clone());
        s.features = features;
        bankscore::one_line(&train(&s).unwrap_err())
    };
    let many_rows = |row: &dyn Fn(usize) -> String| {
        let mut text = format!("{header}\n");
        for i in 0..300 {
            text += &row(i);
            text += "\n";
        }
        text
    };
    let err = run(&format!("{header}\n12,abc,1,0,3,1\n"), features.clone());
    assert!(
        err.contains("row 1 (line 2), column `complaints_12m`: `abc` is not a finite number"),
        "{err}"
    );
    let err = run("tenure_months,churned\n1,0\n", features.clone());
    assert!(err.contains("no feature column `complaints_12m`"), "{err}");
    let err = run(
        &many_rows(&|i| format!("{i},1,100,0,3,0")),
        features.clone(),
    );
    assert!(err.contains("single class"), "{err}");
    let err = run(
        &many_rows(&|i| format!("{i},1,100,0,3,{}", i % 2)),
        features.clone(),
    );
    assert!(err.contains("column `complaints_12m` is constant"), "{err}");
    let err = run(
        &format!("{header}\n1,0,1,0,3,1\n2,1,1,0,3,0\n3,2,1,0,3,0\n"),
        features.clone(),
    );
    assert!(
        err.contains("training rows is not more than the 2 features"),
        "{err}"
    );
    let err = run(
        &format!("{header}\n1,0,1,0,3,1\n"),
        Some(vec!["shoe_size".into()]),
    );
    assert!(
        err.contains("the file has no feature column `shoe_size`"),
        "{err}"
    );
    let err = run("tenure_months,left\n1,0\n", features.clone());
    assert!(
        err.contains("the file has no label column `churned`"),
        "{err}"
    );
    let err = run(&format!("{header}\n1,0,1,0,3,2\n"), features);
    assert!(err.contains("label `churned`: `2` is not 0/1"), "{err}");
}

#[test]
fn features_come_from_the_data_with_text_and_id_columns_left_out() {
    // A file shaped like public bank churn data: its own column names, an id, a text column,
    // and no value columns (so a tier policy is passed).
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("public.csv");
    let mut text =
        String::from("RowNumber,CustomerId,Geography,CreditScore,Age,NumOfProducts,Exited\n");
    let mut g = Generator::new(3);
    for i in 0..2_000 {
        let c = g.next_customer();
        let country = ["France", "Spain", "Germany"][i % 3];
        let score = 650 - 40 * i64::from(c.churned) + (i % 50) as i64;
        text += &format!(
            "{},{},{country},{score},{},{},{}\n",
            i + 1,
            15_000_000 + i,
            c.profile.age_years,
            c.profile.products_held,
            u8::from(c.churned)
        );
    }
    write(&csv, &text);
    let mut settings = TrainSettings::new(csv.clone());
    settings.label = "Exited".into();
    let err = bankscore::one_line(&train(&settings).unwrap_err());
    assert!(err.contains("pass --tier-policy"), "{err}");
    settings.tier_policy = Some(bankscore::domain::TierPolicy {
        a_min_value: 2_000.0,
        b_min_value: 500.0,
        key_account_min_value: 10_000.0,
        sleeping_after_days: 180,
    });
    let bundle = train(&settings).unwrap();
    let names: Vec<&str> = bundle
        .model
        .features
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["extra.CreditScore", "extra.Age", "extra.NumOfProducts"]
    );
    assert_eq!(bundle.ignored_columns, ["Geography (row 1: `France`)"]);
    assert!(
        bundle.metadata.metrics.roc_auc > 0.7,
        "{:?}",
        bundle.metadata.metrics
    );
    // Naming a text column explicitly is an error naming it, not a silent drop.
    settings.features = Some(vec!["Geography".into(), "Age".into()]);
    let err = bankscore::one_line(&train(&settings).unwrap_err());
    assert!(
        err.contains("row 1 (line 2), column `Geography`: `France` is not a finite number"),
        "{err}"
    );
}

#[test]
fn class_weighting_raises_the_churn_probabilities_and_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("train.csv");
    write_csv_with_extra(&csv, 4_000);
    let mut settings = TrainSettings::new(csv);
    settings.features = Some(vec!["tenure_months".into(), "complaints_12m".into()]);
    let plain = train(&settings).unwrap();
    settings.class_weight = bankscore::training::ClassWeight::Balanced;
    let balanced = train(&settings).unwrap();
    assert_eq!(balanced.metadata.training.class_weight, "balanced");
    assert!(
        balanced.model.intercept > plain.model.intercept + 1.0,
        "{} vs {}",
        balanced.model.intercept,
        plain.model.intercept
    );
    let mean = |b: &bankscore::training::TrainedBundle| {
        b.evaluation
            .calibration
            .iter()
            .map(|c| c.mean_predicted)
            .sum::<f64>()
            / 10.0
    };
    assert!(
        mean(&balanced) > 0.35 && mean(&plain) < 0.25,
        "{} {}",
        mean(&balanced),
        mean(&plain)
    );
    // The ranking barely changes.
    assert!((balanced.metadata.metrics.roc_auc - plain.metadata.metrics.roc_auc).abs() < 0.01);
}
