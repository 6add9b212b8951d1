//! Every RPC answers for a sample customer, and its answer matches the scoring core.

use bankscore::domain::AssessOptions;
use bankscore::service::pb;

use crate::helpers::{context, customer, pb_customer, spawn_app};

#[tokio::test]
async fn score_answers_all_three_questions_and_matches_the_core() {
    let mut app = spawn_app().await;
    let live = app.registry.champion().clone();
    for seed in 0..20 {
        let reply = app
            .client
            .score(pb::ScoreRequest {
                context: context(&format!("req-{seed}")),
                profile: Some(pb_customer(seed)),
                max_reasons: 4,
                include_ineligible: true,
            })
            .await
            .expect("score succeeds")
            .into_inner();
        assert_eq!(reply.request_id, format!("req-{seed}"));
        let model = reply.model.expect("model named");
        assert_eq!(
            (model.name.as_str(), model.version.as_str()),
            ("churn", "v1")
        );
        assert_eq!(model.checksum, live.id.checksum);

        let expected = live
            .scoring
            .assess(
                &customer(seed),
                AssessOptions {
                    max_reasons: 4,
                    include_ineligible: true,
                },
            )
            .unwrap();
        let churn = reply.churn.expect("churn");
        assert_eq!(churn.probability, expected.churn.probability);
        assert!(churn.probability > 0.0 && churn.probability < 1.0);
        assert_eq!(churn.horizon_months, 12);
        assert_eq!(churn.top_reasons.len(), 4);
        for r in &churn.top_reasons {
            assert!(!r.label.is_empty());
            let expected_direction = if r.contribution >= 0.0 {
                pb::Direction::IncreasesRisk
            } else {
                pb::Direction::DecreasesRisk
            };
            assert_eq!(r.direction(), expected_direction, "{r:?}");
        }
        let value = reply.value.expect("value");
        assert_eq!(value.total, expected.value.total);
        assert!((value.realized + value.potential + value.influence - value.total).abs() < 1e-9);
        let tier = reply.tier.expect("tier");
        assert_eq!(tier.tier(), pb::ValueTier::from(expected.tier.tier));
        assert!(!tier.explanation.is_empty());

        let decision = reply.decision.expect("decision");
        let eligible_and_not = decision.ranked.len() + decision.ineligible.len();
        assert_eq!(eligible_and_not, live.scoring.actions.actions.len());
        match decision.kind() {
            pb::DecisionKind::TakeAction => {
                let best = decision.best.as_ref().expect("best action");
                assert!(best.expected_value > 0.0);
                assert_eq!(Some(best), decision.ranked.first());
            }
            pb::DecisionKind::NoAction => {
                assert!(decision.best.is_none());
                assert!(decision.ranked.iter().all(|o| o.expected_value <= 0.0));
                assert!(decision.reason.starts_with("no action"));
            }
            other => panic!("unexpected decision kind {other:?}"),
        }
        assert!(decision
            .ranked
            .windows(2)
            .all(|w| w[0].expected_value >= w[1].expected_value));
    }
    app.stop().await.unwrap();
}

#[tokio::test]
async fn the_single_question_rpcs_agree_with_score() {
    let mut app = spawn_app().await;
    let profile = pb_customer(3);
    let score = app
        .client
        .score(pb::ScoreRequest {
            context: context("s"),
            profile: Some(profile.clone()),
            max_reasons: 0,
            include_ineligible: false,
        })
        .await
        .unwrap()
        .into_inner();

    let tier = app
        .client
        .classify_value_tier(pb::ClassifyValueTierRequest {
            context: context("t"),
            profile: Some(profile.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tier.request_id, "t");
    assert_eq!(tier.value, score.value);
    assert_eq!(tier.tier, score.tier);
    assert_eq!(
        tier.churn_probability,
        score.churn.as_ref().unwrap().probability
    );

    let churn = app
        .client
        .predict_churn(pb::PredictChurnRequest {
            context: context("c"),
            profile: Some(profile.clone()),
            max_reasons: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        churn.churn, score.churn,
        "max_reasons 0 means the default of 3"
    );
    assert_eq!(churn.churn.unwrap().top_reasons.len(), 3);

    let action = app
        .client
        .recommend_retention_action(pb::RecommendRetentionActionRequest {
            context: context("a"),
            profile: Some(profile),
            include_ineligible: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(action.decision, score.decision);
    assert_eq!(action.tier, score.tier.unwrap().tier);
    assert_eq!(action.model, score.model);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_complaining_customer_gets_service_recovery_and_a_sleeping_one_a_win_back_offer() {
    let mut app = spawn_app().await;
    let mut angry = customer(11);
    angry.complaints_12m = 3;
    angry.open_complaint = true;
    angry.contact_consent = true;
    angry.days_since_last_contact = 200;
    angry.contacts_30d = 0;
    angry.days_since_last_activity = 3;
    angry.annual_margin = 900.0;
    let reply = app
        .client
        .recommend_retention_action(pb::RecommendRetentionActionRequest {
            context: context("angry"),
            profile: Some((&angry).into()),
            include_ineligible: true,
        })
        .await
        .unwrap()
        .into_inner();
    let decision = reply.decision.unwrap();
    assert_eq!(
        decision.kind(),
        pb::DecisionKind::TakeAction,
        "{decision:?}"
    );
    assert_eq!(decision.best.unwrap().action_id, "resolve_complaint");

    let mut sleeper = angry.clone();
    sleeper.open_complaint = false;
    sleeper.days_since_last_activity = 400;
    let reply = app
        .client
        .recommend_retention_action(pb::RecommendRetentionActionRequest {
            context: context("sleeper"),
            profile: Some((&sleeper).into()),
            include_ineligible: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.tier(), pb::ValueTier::Sleeping);
    let decision = reply.decision.unwrap();
    let ranked: Vec<&str> = decision
        .ranked
        .iter()
        .map(|o| o.action_id.as_str())
        .collect();
    assert_eq!(
        ranked,
        ["reactivation_offer"],
        "only the win-back offer is open to sleeping customers"
    );
    let tier_rule = decision
        .ineligible
        .iter()
        .find(|i| i.action_id == "rm_call")
        .unwrap();
    assert_eq!(tier_rule.rule(), pb::EligibilityRule::Tier);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_customer_without_consent_gets_an_explicit_no_action() {
    let mut app = spawn_app().await;
    let mut p = customer(5);
    p.contact_consent = false;
    let reply = app
        .client
        .recommend_retention_action(pb::RecommendRetentionActionRequest {
            context: context("x"),
            profile: Some((&p).into()),
            include_ineligible: true,
        })
        .await
        .unwrap()
        .into_inner();
    let d = reply.decision.unwrap();
    assert_eq!(d.kind(), pb::DecisionKind::NoAction);
    assert!(d.ranked.is_empty());
    assert!(d
        .ineligible
        .iter()
        .all(|i| i.rule() == pb::EligibilityRule::Consent));
    assert_eq!(
        d.reason,
        "no action: no action is eligible for this customer"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn an_empty_request_id_is_replaced_by_a_server_assigned_one() {
    let mut app = spawn_app().await;
    let reply = app
        .client
        .predict_churn(pb::PredictChurnRequest {
            context: None,
            profile: Some(pb_customer(1)),
            max_reasons: 1,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        reply.request_id.starts_with("bankscore-"),
        "{}",
        reply.request_id
    );
    app.stop().await.unwrap();
}

/// The numbers README.md shows for `examples/customer.json`, so that the worked example a
/// retention manager checks by hand stays the one the shipped model gives.
#[tokio::test]
async fn the_readme_example_customer_gets_the_value_at_risk_and_expected_value_the_readme_shows() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/customer.json");
    let profile: bankscore::domain::CustomerProfile =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut app = spawn_app().await;
    let reply = app
        .client
        .score(pb::ScoreRequest {
            context: context("demo-1"),
            profile: Some((&profile).into()),
            max_reasons: 3,
            include_ineligible: false,
        })
        .await
        .expect("score succeeds")
        .into_inner();
    app.stop().await.unwrap();
    let cents = |x: f64| format!("{x:.2}");
    let value = reply.value.unwrap();
    assert_eq!(
        [
            value.realized,
            value.potential,
            value.influence,
            value.total
        ]
        .map(cents),
        ["1400.00", "239.17", "150.00", "1789.17"]
    );
    assert_eq!(cents(value.value_at_risk), "3746.52");
    assert_eq!(
        format!("{:.6}", reply.churn.unwrap().probability),
        "0.842409"
    );
    let decision = reply.decision.unwrap();
    let best = decision.best.unwrap();
    assert_eq!(best.action_id, "resolve_complaint");
    assert_eq!(cents(best.expected_value), "1340.25");
    assert_eq!(format!("{:.6}", best.uplift), "0.379084");
    assert_eq!(
        best.reason,
        "EV = τ 0.379084 (p_churn 0.842409 × prior uplift 0.450) × value at risk 3746.52 − cost \
         80.00 = 1340.25"
    );
    // The README's hand check: τ × value at risk − cost with the printed figures, to the cent.
    assert_eq!(cents(0.379084 * 3746.52 - 80.0), "1340.25");
    assert!(
        decision.reason.contains("596.22 more than `rm_call`"),
        "{}",
        decision.reason
    );
}

#[tokio::test]
async fn bankscore_call_prints_the_reply_as_proto3_json_by_default_and_a_summary_with_format_text_and_models_json_the_served_versions(
) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/customer.json");
    let profile: bankscore::domain::CustomerProfile =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut app = spawn_app().await;
    let direct = app
        .client
        .score(pb::ScoreRequest {
            context: context("cli-1"),
            profile: Some((&profile).into()),
            max_reasons: 0,
            include_ineligible: false,
        })
        .await
        .expect("score succeeds")
        .into_inner();
    let target = format!("http://{}", app.address);
    let call = |format: &'static str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bankscore"));
        cmd.args(["call", "score", "--request-id", "cli-1", "--format", format])
            .arg("--target")
            .arg(&target)
            .arg("--profile")
            .arg(&path);
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    let json = call("json").await.unwrap();
    let text = call("text").await.unwrap();
    let mut models = std::process::Command::new(env!("CARGO_BIN_EXE_bankscore"));
    models.args(["models", "--json", "--target"]).arg(&target);
    let models = tokio::task::spawn_blocking(move || models.output().unwrap())
        .await
        .unwrap();
    app.stop().await.unwrap();
    assert!(
        models.status.success(),
        "{}",
        String::from_utf8_lossy(&models.stderr)
    );
    let list: pb::ListModelsResponse = serde_json::from_slice(&models.stdout).unwrap();
    assert_eq!(list.model_name, "churn");
    assert_eq!(list.versions[0].version, "v1");
    assert_eq!(
        list.versions[0].checksum,
        direct.model.as_ref().unwrap().checksum
    );
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let stdout = String::from_utf8(json.stdout).unwrap();
    // The proto3 JSON mapping: camelCase names, enums by name; it reads back as the same reply.
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["requestId"], "cli-1");
    assert_eq!(doc["tier"]["tier"], "VALUE_TIER_A");
    assert_eq!(doc["decision"]["kind"], "DECISION_KIND_TAKE_ACTION");
    let parsed: pb::ScoreResponse = serde_json::from_str(&stdout).unwrap();
    assert_eq!(parsed, direct);
    assert!(text.status.success());
    let summary = String::from_utf8(text.stdout).unwrap();
    assert!(summary.contains("value at risk: 3746.52"), "{summary}");
    assert!(
        summary.contains("decision: TAKE_ACTION resolve_complaint, EV 1340.25"),
        "{summary}"
    );
}
