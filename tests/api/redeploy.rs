//! Model owners redeploy without a restart: champion swaps under load, broken bundles refused
//! while the old version serves, shadow scoring, the directory watcher, and exact reproduction
//! of the training-time probabilities.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bankscore::domain::churn::ChurnModel;
use bankscore::domain::profile::{BuiltinFeature, FeatureKind};
use bankscore::domain::CustomerProfile;
use bankscore::model_store::format::{GoldenFile, ModelFile};
use bankscore::model_store::{load_bundle, Deployment};
use bankscore::service::pb::{self, model_admin_service_client::ModelAdminServiceClient};
use tonic::transport::Channel;

use crate::helpers::{copy_shipped, customer, reseal, spawn_app_on};

/// Writes `models/churn/<version>`: the shipped model with its intercept shifted by `shift`, its
/// golden examples recomputed and its manifest resealed, so it is a valid, different model.
pub(crate) fn variant(models: &Path, version: &str, shift: f64) -> PathBuf {
    let dst = copy_shipped(models, version);
    let read = |f: &str| std::fs::read_to_string(dst.join(f)).unwrap();
    let mut model: ModelFile = serde_json::from_str(&read("model.json")).unwrap();
    model.intercept += shift;
    let churn = ChurnModel::new(
        model.intercept,
        model.features.clone(),
        model.horizon_months,
    )
    .unwrap();
    let mut golden: GoldenFile = serde_json::from_str(&read("golden.json")).unwrap();
    for example in &mut golden.examples {
        let raw: Vec<f64> = churn
            .features()
            .iter()
            .map(|f| example.features[&f.name])
            .collect();
        example.churn_probability = churn.probability_from_raw(&raw);
    }
    std::fs::write(
        dst.join("model.json"),
        serde_json::to_string_pretty(&model).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dst.join("golden.json"),
        serde_json::to_string_pretty(&golden).unwrap(),
    )
    .unwrap();
    reseal(&dst);
    dst
}

/// A models directory with v1 (shipped) and v2 (intercept +1), champion v1.
fn two_versions() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_shipped(tmp.path(), "v1");
    variant(tmp.path(), "v2", 1.0);
    deploy(tmp.path(), "v1", None);
    tmp
}

fn deploy(models: &Path, champion: &str, challenger: Option<&str>) {
    Deployment {
        champion: Some(champion.into()),
        challenger: challenger.map(Into::into),
    }
    .write(&models.join("churn"))
    .unwrap();
}

fn admin(channel: &Channel) -> ModelAdminServiceClient<Channel> {
    ModelAdminServiceClient::new(channel.clone())
}

fn score_request(profile: &CustomerProfile, version: &str) -> pb::ScoreRequest {
    pb::ScoreRequest {
        context: Some(pb::RequestContext {
            request_id: profile.customer_id.clone(),
            model_version: version.into(),
        }),
        profile: Some(profile.into()),
        max_reasons: 3,
        include_ineligible: false,
    }
}

fn state_of(list: &pb::ListModelsResponse, version: &str) -> pb::VersionState {
    list.versions
        .iter()
        .find(|v| v.version == version)
        .map_or(pb::VersionState::Unspecified, |v| v.state())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_the_champion_120_times_under_load_fails_no_request_and_mixes_no_versions() {
    let _exclusive = crate::helpers::cpu_heavy().await;
    let tmp = two_versions();
    let app = spawn_app_on(tmp.path()).await;
    let profiles: Vec<CustomerProfile> = (0..32).map(customer).collect();
    // What each version must answer for each customer, from the scoring core.
    let mut expected: HashMap<String, Vec<f64>> = HashMap::new();
    for version in ["v1", "v2"] {
        let m = load_bundle(&tmp.path().join("churn").join(version)).unwrap();
        expected.insert(
            version.into(),
            profiles
                .iter()
                .map(|p| m.scoring.churn.probability(p).unwrap())
                .collect(),
        );
    }
    assert_ne!(expected["v1"][0], expected["v2"][0]);
    let expected = Arc::new(expected);
    let profiles = Arc::new(profiles);
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, seen_v2) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));

    let mut clients = Vec::new();
    for c in 0..4 {
        let mut client = app.client.clone();
        let (profiles, expected, stop, ok, seen_v2) = (
            profiles.clone(),
            expected.clone(),
            stop.clone(),
            ok.clone(),
            seen_v2.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut i = c;
            // Bounded: stops when told, or after 200,000 calls at most.
            while !stop.load(Ordering::Relaxed) && i < 200_000 {
                let k = i % profiles.len();
                let reply = client
                    .score(score_request(&profiles[k], ""))
                    .await
                    .map_err(|s| format!("call {i}: {s}"))?
                    .into_inner();
                let version = reply.model.as_ref().unwrap().version.clone();
                let p = reply.churn.as_ref().unwrap().probability;
                let want = expected
                    .get(&version)
                    .ok_or_else(|| format!("unknown version {version}"))?[k];
                if p != want {
                    return Err(format!(
                        "{version} answered {p} for customer {k}, expected {want}"
                    ));
                }
                if version == "v2" {
                    seen_v2.fetch_add(1, Ordering::Relaxed);
                }
                ok.fetch_add(1, Ordering::Relaxed);
                i += 4;
            }
            Ok::<(), String>(())
        }));
    }

    let mut admin = admin(&app.channel);
    for swap in 0..120 {
        let champion = if swap % 2 == 0 { "v2" } else { "v1" };
        deploy(tmp.path(), champion, None);
        let reply = admin
            .reload(pb::ReloadRequest {})
            .await
            .unwrap()
            .into_inner();
        let summary = reply.summary.unwrap();
        assert!(
            summary.applied && summary.changed && summary.problems.is_empty(),
            "swap {swap}: {summary:?}"
        );
        assert_eq!(
            state_of(&reply.models.unwrap(), champion),
            pb::VersionState::Champion
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap().expect("no failed or mixed-up request");
    }
    let (ok, seen_v2) = (ok.load(Ordering::Relaxed), seen_v2.load(Ordering::Relaxed));
    assert!(ok > 500, "only {ok} requests completed");
    assert!(
        seen_v2 > 0 && seen_v2 < ok,
        "both versions answered: {seen_v2} of {ok} from v2"
    );
    let list = admin
        .list_models(pb::ListModelsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.reloads_total, 120);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_broken_bundle_is_refused_with_its_reason_and_the_champion_keeps_serving() {
    let tmp = two_versions();
    let mut app = spawn_app_on(tmp.path()).await;
    let mut admin = admin(&app.channel);

    // A new version with a NaN coefficient arrives and is declared champion.
    let v3 = variant(tmp.path(), "v3", 0.5);
    let model = std::fs::read_to_string(v3.join("model.json")).unwrap();
    let broken = model.replacen("\"coefficient\": ", "\"coefficient\": NaN, \"x\": ", 1);
    std::fs::write(v3.join("model.json"), broken).unwrap();
    deploy(tmp.path(), "v3", None);
    let reply = admin
        .reload(pb::ReloadRequest {})
        .await
        .unwrap()
        .into_inner();
    let summary = reply.summary.unwrap();
    assert!(summary.applied && !summary.changed, "{summary:?}");
    assert!(
        summary
            .problems
            .iter()
            .any(|p| p.contains("v3") && p.contains("model.json: checksum mismatch")),
        "{:?}",
        summary.problems
    );
    assert!(
        summary
            .problems
            .iter()
            .any(|p| p == "declared champion `v3` is not a valid version; `v1` stays live"),
        "{:?}",
        summary.problems
    );
    let list = reply.models.unwrap();
    assert_eq!(state_of(&list, "v1"), pb::VersionState::Champion);
    assert_eq!(state_of(&list, "v3"), pb::VersionState::Rejected);
    let v3_status = list.versions.iter().find(|v| v.version == "v3").unwrap();
    assert!(v3_status.load_error.contains("checksum mismatch") && !v3_status.previous_kept);
    assert!(list.rejected_bundles_total >= 1);

    let reply = app
        .client
        .score(score_request(&customer(1), ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.model.unwrap().version, "v1");
    let pinned = app
        .client
        .score(score_request(&customer(1), "v3"))
        .await
        .unwrap_err();
    assert_eq!(pinned.code(), tonic::Code::NotFound);

    // An available version broken in place keeps its earlier, valid load for pinned requests.
    std::fs::write(tmp.path().join("churn/v2/policy.toml"), "[value]\n").unwrap();
    let list = admin
        .reload(pb::ReloadRequest {})
        .await
        .unwrap()
        .into_inner()
        .models
        .unwrap();
    let v2 = list.versions.iter().find(|v| v.version == "v2").unwrap();
    assert_eq!(v2.state(), pb::VersionState::Rejected);
    assert!(
        v2.previous_kept && v2.load_error.contains("policy.toml"),
        "{v2:?}"
    );
    let reply = app
        .client
        .score(score_request(&customer(1), "v2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.model.unwrap().version, "v2");

    // A version being copied over (no manifest yet) keeps its earlier load meanwhile.
    std::fs::remove_file(tmp.path().join("churn/v2/checksums.sha256")).unwrap();
    let list = admin
        .reload(pb::ReloadRequest {})
        .await
        .unwrap()
        .into_inner()
        .models
        .unwrap();
    assert!(list
        .versions
        .iter()
        .any(|v| v.version == "v2" && v.state() == pb::VersionState::Incomplete));
    let reply = app
        .client
        .score(score_request(&customer(1), "v2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.model.unwrap().version, "v2");

    // A broken deployment file changes nothing.
    std::fs::write(tmp.path().join("churn/deployment.toml"), "champion = [\n").unwrap();
    let summary = admin
        .reload(pb::ReloadRequest {})
        .await
        .unwrap()
        .into_inner()
        .summary
        .unwrap();
    assert!(
        !summary.applied && summary.problems[0].contains("deployment.toml"),
        "{summary:?}"
    );
    let reply = app
        .client
        .score(score_request(&customer(2), ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.model.unwrap().version, "v1");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn the_challenger_scores_in_shadow_and_its_differences_are_counted() {
    let tmp = two_versions();
    let mut app = spawn_app_on(tmp.path()).await;
    let mut admin = admin(&app.channel);
    deploy(tmp.path(), "v1", Some("v2"));
    let list = admin
        .reload(pb::ReloadRequest {})
        .await
        .unwrap()
        .into_inner()
        .models
        .unwrap();
    assert_eq!(state_of(&list, "v2"), pb::VersionState::Challenger);

    for i in 0..25 {
        let reply = app
            .client
            .score(score_request(&customer(i), ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            reply.model.unwrap().version,
            "v1",
            "the challenger's answers are never returned"
        );
    }
    // Pinned requests are not shadowed.
    app.client
        .score(score_request(&customer(99), "v1"))
        .await
        .unwrap();
    let shadow = admin
        .list_models(pb::ListModelsRequest {})
        .await
        .unwrap()
        .into_inner()
        .shadow
        .unwrap();
    assert_eq!(shadow.challenger_version, "v2");
    assert_eq!(shadow.requests, 25);
    // v2's intercept is one log-odds unit higher: every probability differs.
    assert!(shadow.mean_abs_probability_diff > 0.01, "{shadow:?}");
    assert!(shadow.max_abs_probability_diff >= shadow.mean_abs_probability_diff);

    // Rolling the challenger back out stops the comparison.
    deploy(tmp.path(), "v1", None);
    let list = admin
        .reload(pb::ReloadRequest {})
        .await
        .unwrap()
        .into_inner()
        .models
        .unwrap();
    assert!(list.shadow.is_none());
    assert_eq!(state_of(&list, "v2"), pb::VersionState::Available);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn the_watcher_loads_a_new_version_dropped_into_the_models_directory() {
    let tmp = two_versions();
    let mut app = spawn_app_on(tmp.path()).await;
    let watcher = tokio::spawn(bankscore::model_store::watch(
        app.store.clone(),
        Duration::from_millis(20),
        Duration::from_millis(100),
    ));
    // Owners copy into a hidden directory and rename, so the watcher never sees half a bundle.
    let staging = variant(tmp.path(), ".v3.tmp", -0.5);
    std::fs::rename(&staging, tmp.path().join("churn/v3")).unwrap();
    deploy(tmp.path(), "v3", None);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = app
            .client
            .score(score_request(&customer(4), ""))
            .await
            .unwrap()
            .into_inner();
        if reply.model.unwrap().version == "v3" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watcher did not load v3 within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let list = admin(&app.channel)
        .list_models(pb::ListModelsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.last_reload.unwrap().trigger, "watcher");
    watcher.abort();
    app.stop().await.unwrap();
}

#[tokio::test]
async fn served_probabilities_reproduce_the_training_time_probabilities_bit_for_bit() {
    let mut app = crate::helpers::spawn_app().await;
    let golden = &app.registry.champion().golden;
    assert_eq!(golden.examples.len(), 20);
    for (i, example) in golden.examples.iter().enumerate() {
        // The shipped model uses every typed field, so each golden example is a whole profile.
        let mut fields = serde_json::Map::new();
        fields.insert("customer_id".into(), format!("golden-{i}").into());
        for f in BuiltinFeature::ALL {
            let x = example.features[f.name()];
            let value = match f.kind() {
                FeatureKind::Flag => serde_json::Value::Bool(x == 1.0),
                FeatureKind::Count => serde_json::json!(x as u32),
                FeatureKind::Amount => serde_json::json!(x),
            };
            fields.insert(f.name().into(), value);
        }
        let p: CustomerProfile = serde_json::from_value(fields.into()).unwrap();
        for f in BuiltinFeature::ALL {
            assert_eq!(
                f.value(&p),
                example.features[f.name()],
                "example {i}: {} survives the profile",
                f.name()
            );
        }
        let reply = app
            .client
            .score(score_request(&p, ""))
            .await
            .unwrap()
            .into_inner();
        let served = reply.churn.unwrap().probability;
        assert_eq!(
            served.to_bits(),
            example.churn_probability.to_bits(),
            "example {i}: {served} vs {}",
            example.churn_probability
        );
    }
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_keeps_the_model_it_started_with_through_a_redeploy() {
    use bankscore::service::pb::batch_scoring_service_client::BatchScoringServiceClient;
    use tokio_stream::StreamExt;
    let tmp = two_versions();
    let app = spawn_app_on(tmp.path()).await;
    let profiles: Vec<CustomerProfile> = (0..50).map(customer).collect();
    let v1 = load_bundle(&tmp.path().join("churn/v1")).unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<pb::ScoreStreamRequest>(1);
    let mut replies = BatchScoringServiceClient::new(app.channel.clone())
        .score_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let chunk = |n: usize| pb::ScoreStreamRequest {
        records: profiles
            .iter()
            .enumerate()
            .map(|(i, p)| pb::StreamRecord {
                record_id: format!("{n}-{i}"),
                profile: Some(p.into()),
            })
            .collect(),
        ..Default::default()
    };
    let mut admin = admin(&app.channel);
    for n in 0..6 {
        tx.send(chunk(n)).await.unwrap();
        let reply = replies.next().await.unwrap().unwrap();
        if n == 0 {
            assert_eq!(reply.model.as_ref().unwrap().version, "v1");
        }
        for (i, r) in reply.results.iter().enumerate() {
            let Some(pb::stream_result::Outcome::Assessment(a)) = &r.outcome else {
                panic!("{r:?}")
            };
            assert_eq!(
                a.churn_probability,
                v1.scoring.churn.probability(&profiles[i]).unwrap(),
                "chunk {n}"
            );
        }
        // Redeploy between chunks: the stream must not notice.
        deploy(tmp.path(), if n % 2 == 0 { "v2" } else { "v1" }, None);
        assert!(
            admin
                .reload(pb::ReloadRequest {})
                .await
                .unwrap()
                .into_inner()
                .summary
                .unwrap()
                .applied
        );
    }
    drop(tx);
    assert!(replies.next().await.is_none());
    app.stop().await.unwrap();
}
