//! Properties of the gRPC edge over arbitrary input: validation and decoding answer with a
//! clean error or a profile that keeps the domain's invariants, and scoring such a profile with
//! the shipped model gives a probability in [0, 1] — never a panic.

use std::collections::HashMap;
use std::sync::OnceLock;

use bankscore::domain::profile::{BuiltinFeature, FeatureKind};
use bankscore::domain::{AssessOptions, CustomerProfile};
use bankscore::model_store::{load_bundle, LoadedModel};
use bankscore::service::convert::{self, MAX_EXTRA_FEATURES, MAX_KEY_LEN};
use bankscore::service::pb;
use proptest::prelude::*;
use proptest::test_runner::Config;
use prost::Message;
use tonic::Code;

/// The shipped model, loaded once for every case.
fn shipped_model() -> &'static LoadedModel {
    static MODEL: OnceLock<LoadedModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        load_bundle(&crate::helpers::shipped_models().join("churn/v1")).expect("shipped bundle")
    })
}

/// Floats a hostile client would try: NaN, infinities, subnormals, extremes, signed zero.
fn hostile_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE / 4.0),
        Just(-f64::MIN_POSITIVE / 4.0),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(-0.0),
        Just(1e300),
        Just(-1.0),
    ]
}

/// A count field: mostly plausible (valid for every count), sometimes any u32 or missing.
fn count() -> impl Strategy<Value = Option<u32>> {
    prop_oneof![
        30 => (18u32..=100).prop_map(Some),
        1 => any::<u32>().prop_map(Some),
        1 => Just(Some(u32::MAX)),
        1 => Just(None),
    ]
}

/// An amount field: mostly plausible, sometimes hostile or missing.
fn amount() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        30 => (0.0f64..1e9).prop_map(Some),
        2 => hostile_f64().prop_map(Some),
        1 => Just(None),
    ]
}

/// A yes/no field: mostly present.
fn flag() -> impl Strategy<Value = Option<bool>> {
    prop_oneof![30 => any::<bool>().prop_map(Some), 1 => Just(None)]
}

/// Ids and keys: short and plain, or any string at all (empty, very long, any code points).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[A-Za-z0-9_-]{1,24}",
        1 => any::<String>(),
        1 => ".{120,140}",
        1 => Just(String::new()),
    ]
}

/// Extra features: usually a few, sometimes around the size limit, with hostile values.
fn extras() -> impl Strategy<Value = HashMap<String, f64>> {
    let value = prop_oneof![8 => -1e6f64..1e6, 1 => hostile_f64()];
    prop_oneof![
        8 => proptest::collection::hash_map(text(), value.clone(), 0..6),
        1 => proptest::collection::hash_map(
            "[a-z]{1,12}",
            value,
            MAX_EXTRA_FEATURES - 2..MAX_EXTRA_FEATURES + 3,
        ),
    ]
}

/// Any gRPC profile: each field independently plausible, hostile or missing.
fn any_profile() -> impl Strategy<Value = pb::CustomerProfile> {
    (
        text(),
        proptest::collection::vec(count(), 12),
        proptest::collection::vec(flag(), 6),
        proptest::collection::vec(amount(), 4),
        extras(),
    )
        .prop_map(
            |(customer_id, c, f, a, extra_features)| pb::CustomerProfile {
                customer_id,
                age_years: c[0],
                tenure_months: c[1],
                products_held: c[2],
                direct_debits: c[3],
                digital_logins_30d: c[4],
                transactions_30d: c[5],
                complaints_12m: c[6],
                products_closed_12m: c[7],
                days_since_last_contact: c[8],
                days_since_last_activity: c[9],
                contacts_30d: c[10],
                referrals_12m: c[11],
                has_mortgage: f[0],
                salary_credited: f[1],
                open_complaint: f[2],
                fee_increase_6m: f[3],
                has_relationship_manager: f[4],
                contact_consent: f[5],
                total_balance: a[0],
                balance_trend_3m: a[1],
                transactions_trend_3m: a[2],
                annual_margin: a[3],
                extra_features,
            },
        )
}

/// A value at the edge of what `f` accepts: a bound, a subnormal, or anywhere between.
fn edge_value(f: BuiltinFeature) -> impl Strategy<Value = f64> {
    let (min, max) = f.bounds();
    let between = (0.0f64..=1.0).prop_map(move |t| {
        let v = min * (1.0 - t) + max * t;
        if f.kind() == FeatureKind::Amount {
            v
        } else {
            v.round()
        }
    });
    let tiny = if f.kind() == FeatureKind::Amount {
        f64::MIN_POSITIVE / 4.0
    } else {
        min
    };
    prop_oneof![Just(min), Just(max), Just(tiny), between]
}

/// A valid profile whose typed fields sit at the edges of their ranges (the largest balance,
/// the most negative margin, an age of 120), sent over the wire as it would be.
fn edge_profile() -> impl Strategy<Value = pb::CustomerProfile> {
    let values: Vec<_> = BuiltinFeature::ALL.iter().map(|&f| edge_value(f)).collect();
    (values, "[A-Z]-[0-9]{1,8}").prop_map(|(values, id)| {
        let mut p = CustomerProfile::blank();
        for (f, v) in BuiltinFeature::ALL.into_iter().zip(values) {
            p.set(f, v);
        }
        p.customer_id = id;
        pb::CustomerProfile::from(&p)
    })
}

/// The invariants every validated profile keeps.
fn assert_domain_invariants(p: &CustomerProfile) {
    assert!(!p.customer_id.is_empty() && p.customer_id.len() <= MAX_KEY_LEN);
    assert!(p.extra_features.len() <= MAX_EXTRA_FEATURES);
    for (key, value) in &p.extra_features {
        assert!(!key.is_empty() && key.len() <= MAX_KEY_LEN, "key {key:?}");
        assert!(value.is_finite(), "extra_features[{key:?}] = {value}");
    }
    for f in BuiltinFeature::ALL {
        let v = f.value(p);
        let (min, max) = f.bounds();
        assert!(v.is_finite() && (min..=max).contains(&v), "{f:?} = {v}");
        assert_eq!(f.check(v), Ok(()), "{f:?} = {v}");
    }
}

/// Scores a validated profile with the shipped model and checks every number that comes back.
fn assert_scores_cleanly(p: &CustomerProfile) {
    let opts = AssessOptions {
        max_reasons: bankscore::domain::churn::MAX_REASONS,
        include_ineligible: true,
    };
    // A profile without a feature the model reads is refused by name, not scored.
    let Ok(a) = shipped_model().scoring.assess(p, opts) else {
        return;
    };
    let churn = a.churn.probability;
    assert!((0.0..=1.0).contains(&churn), "probability {churn}");
    assert!(
        a.churn.log_odds.is_finite(),
        "log-odds {}",
        a.churn.log_odds
    );
    for r in &a.churn.reasons {
        assert!(r.value.is_finite() && r.contribution.is_finite(), "{r:?}");
    }
    let v = a.value;
    for (part, x) in [
        ("realized", v.realized),
        ("potential", v.potential),
        ("influence", v.influence),
        ("total", v.total),
        ("value_at_risk", v.value_at_risk),
    ] {
        assert!(x.is_finite(), "value.{part} = {x}");
    }
    for o in &a.decision.ranked {
        assert!(
            o.expected_value.is_finite() && o.uplift.is_finite(),
            "{o:?}"
        );
    }
}

proptest! {
    #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

    #[test]
    fn any_profile_is_refused_by_field_name_or_keeps_the_domain_invariants(
        p in any_profile(),
    ) {
        match CustomerProfile::try_from(p) {
            Ok(profile) => {
                assert_domain_invariants(&profile);
                assert_scores_cleanly(&profile);
            }
            Err(e) => {
                let status = tonic::Status::from(e);
                prop_assert_eq!(status.code(), Code::InvalidArgument);
                prop_assert!(status.message().starts_with("profile."), "{}", status.message());
            }
        }
    }

    #[test]
    fn profiles_at_the_edges_of_every_range_are_accepted_and_score_cleanly(
        p in edge_profile(),
    ) {
        let profile = CustomerProfile::try_from(p).expect("every field is within its range");
        assert_domain_invariants(&profile);
        assert_scores_cleanly(&profile);
    }

    #[test]
    fn any_max_reasons_is_refused_by_name_or_bounded(n in any::<u32>()) {
        for result in [convert::max_reasons(n), convert::stream_reasons(n)] {
            match result {
                Ok(k) => prop_assert!(k <= bankscore::domain::churn::MAX_REASONS),
                Err(e) => {
                    prop_assert_eq!(e.field.as_str(), "max_reasons");
                    let status = tonic::Status::from(e);
                    prop_assert_eq!(status.code(), Code::InvalidArgument);
                    prop_assert!(status.message().starts_with("max_reasons: "));
                }
            }
        }
    }

    #[test]
    fn any_bytes_decode_as_a_request_or_fail_cleanly(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        // Whatever decodes either validates into a profile that keeps the domain's invariants
        // and scores cleanly, or is refused naming a profile field; nothing panics.
        let mut profiles = Vec::new();
        if let Ok(request) = pb::ScoreRequest::decode(bytes.as_slice()) {
            profiles.push(request.profile);
        }
        if let Ok(chunk) = pb::ScoreStreamRequest::decode(bytes.as_slice()) {
            profiles.extend(chunk.records.into_iter().map(|r| r.profile));
        }
        for p in profiles {
            match convert::profile(p) {
                Ok(profile) => {
                    assert_domain_invariants(&profile);
                    assert_scores_cleanly(&profile);
                }
                Err(e) => {
                    prop_assert!(e.field.starts_with("profile"), "{e}");
                    prop_assert!(!e.problem.is_empty(), "{e}");
                }
            }
        }
    }

    #[test]
    fn a_damaged_request_decodes_or_fails_cleanly_and_validates_by_field(
        seed in 0u64..64,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let request = pb::ScoreRequest {
            context: crate::helpers::context("damaged"),
            profile: Some(crate::helpers::pb_customer(seed)),
            max_reasons: 3,
            include_ineligible: false,
        };
        let mut bytes = request.encode_to_vec();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        if let Ok(request) = pb::ScoreRequest::decode(bytes.as_slice()) {
            match convert::profile(request.profile) {
                Ok(profile) => assert_domain_invariants(&profile),
                Err(e) => prop_assert!(e.field.starts_with("profile"), "{e}"),
            }
        }
    }
}
