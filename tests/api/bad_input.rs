//! Bad inputs get INVALID_ARGUMENT or NOT_FOUND naming the field, never a panic or a default.

use bankscore::service::pb;
use tonic::Code;

use crate::helpers::{context, pb_customer, spawn_app};

type Edit = fn(&mut pb::ScoreRequest);

#[tokio::test]
async fn score_rejects_each_bad_input_with_a_status_naming_the_field() {
    let mut app = spawn_app().await;
    let cases: Vec<(&str, Edit, Code, &str)> = vec![
        (
            "NaN balance",
            |r| profile(r).total_balance = Some(f64::NAN),
            Code::InvalidArgument,
            "profile.total_balance: NaN is not a finite number",
        ),
        (
            "+Inf margin",
            |r| profile(r).annual_margin = Some(f64::INFINITY),
            Code::InvalidArgument,
            "profile.annual_margin: inf is not a finite number",
        ),
        (
            "-Inf trend",
            |r| profile(r).balance_trend_3m = Some(f64::NEG_INFINITY),
            Code::InvalidArgument,
            "profile.balance_trend_3m",
        ),
        (
            "negative balance",
            |r| profile(r).total_balance = Some(-10.0),
            Code::InvalidArgument,
            "profile.total_balance: -10 is below the minimum 0",
        ),
        (
            "trend below -100%",
            |r| profile(r).transactions_trend_3m = Some(-1.5),
            Code::InvalidArgument,
            "profile.transactions_trend_3m: -1.5 is below the minimum -1",
        ),
        (
            "age of a child",
            |r| profile(r).age_years = Some(7),
            Code::InvalidArgument,
            "profile.age_years: 7 is outside 18..=120",
        ),
        (
            "age of 200",
            |r| profile(r).age_years = Some(200),
            Code::InvalidArgument,
            "profile.age_years: 200 is outside 18..=120",
        ),
        (
            "missing tenure",
            |r| profile(r).tenure_months = None,
            Code::InvalidArgument,
            "profile.tenure_months: is required",
        ),
        (
            "missing consent",
            |r| profile(r).contact_consent = None,
            Code::InvalidArgument,
            "profile.contact_consent: is required",
        ),
        (
            "missing margin",
            |r| profile(r).annual_margin = None,
            Code::InvalidArgument,
            "profile.annual_margin: is required",
        ),
        (
            "absurd product count",
            |r| profile(r).products_held = Some(5_000),
            Code::InvalidArgument,
            "profile.products_held: 5000 is above the maximum 100",
        ),
        (
            "empty customer id",
            |r| profile(r).customer_id.clear(),
            Code::InvalidArgument,
            "profile.customer_id: is required",
        ),
        (
            "no profile",
            |r| r.profile = None,
            Code::InvalidArgument,
            "profile: is required",
        ),
        (
            "NaN extra feature",
            |r| {
                profile(r)
                    .extra_features
                    .insert("app_rating".into(), f64::NAN);
            },
            Code::InvalidArgument,
            "profile.extra_features[\"app_rating\"]: NaN is not a finite number",
        ),
        (
            "too many reasons",
            |r| r.max_reasons = 33,
            Code::InvalidArgument,
            "max_reasons: 33 is above the maximum 32",
        ),
        (
            "unknown model version",
            |r| r.context.as_mut().unwrap().model_version = "v999".into(),
            Code::NotFound,
            "context.model_version: model version `v999` is not loaded (loaded: v1)",
        ),
    ];
    for (case, edit, code, message) in cases {
        let mut request = pb::ScoreRequest {
            context: context(case),
            profile: Some(pb_customer(9)),
            max_reasons: 3,
            include_ineligible: false,
        };
        edit(&mut request);
        let status = app.client.score(request).await.expect_err(case);
        assert_eq!(status.code(), code, "{case}: {status:?}");
        assert!(
            status.message().contains(message),
            "{case}: got `{}`, want `{message}`",
            status.message()
        );
    }
    // The server is still serving well-formed requests after all of that.
    let ok = app
        .client
        .score(pb::ScoreRequest {
            context: context("ok"),
            profile: Some(pb_customer(9)),
            max_reasons: 3,
            include_ineligible: false,
        })
        .await;
    assert!(ok.is_ok());
    app.stop().await.unwrap();
}

#[tokio::test]
async fn every_rpc_validates_its_profile() {
    let mut app = spawn_app().await;
    let mut bad = pb_customer(2);
    bad.age_years = None;
    let want = "profile.age_years: is required";
    let s = app
        .client
        .classify_value_tier(pb::ClassifyValueTierRequest {
            context: None,
            profile: Some(bad.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!((s.code(), s.message()), (Code::InvalidArgument, want));
    let s = app
        .client
        .predict_churn(pb::PredictChurnRequest {
            context: None,
            profile: Some(bad.clone()),
            max_reasons: 0,
        })
        .await
        .unwrap_err();
    assert_eq!((s.code(), s.message()), (Code::InvalidArgument, want));
    let s = app
        .client
        .recommend_retention_action(pb::RecommendRetentionActionRequest {
            context: None,
            profile: Some(bad),
            include_ineligible: false,
        })
        .await
        .unwrap_err();
    assert_eq!((s.code(), s.message()), (Code::InvalidArgument, want));
    app.stop().await.unwrap();
}

fn profile(r: &mut pb::ScoreRequest) -> &mut pb::CustomerProfile {
    r.profile.as_mut().expect("profile")
}
