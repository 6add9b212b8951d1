//! The audit record: one JSON line per decision, with the model inputs as scored and the
//! outputs, and the customer only as its keyed hash.
//!
//! ```json
//! {"time":"2026-11-25T15:13:00.123456Z","request_id":"req-7","rpc":"Score",
//!  "customer":"5bdcc146bf60754e6a042426089575c7",
//!  "model":{"name":"churn","version":"v1","checksum":"9f2c…"},
//!  "options":{"max_reasons":3,"include_ineligible":false},
//!  "inputs":{"age_years":42,"tenure_months":60,…,"has_mortgage":false,…,"extra_features":{}},
//!  "outputs":{"churn_probability":0.161,"value":{…},"tier":"B","key_account":false,
//!             "decision":{"action":"fee_waiver","expected_value":3.61,"propensity":1.0}}}
//! ```

use std::borrow::Cow;
use std::time::SystemTime;

use serde::ser::SerializeMap;

use super::outputs::Outputs;
use crate::domain::profile::{BuiltinFeature, FeatureKind};
use crate::domain::{AssessOptions, CustomerProfile};
use crate::model_store::ModelId;

/// The decision RPC a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Rpc {
    /// `ScoringService.Score`.
    Score,
    /// `ScoringService.RecommendRetentionAction`.
    RecommendRetentionAction,
    /// `ScoringService.PredictChurn`.
    PredictChurn,
    /// `ScoringService.ClassifyValueTier`.
    ClassifyValueTier,
    /// `BatchScoringService.ScoreStream`, one record per scored customer.
    ScoreStream,
    /// The Open Inference Protocol's `GRPCInferenceService.ModelInfer`, one record per row.
    ModelInfer,
}

impl Rpc {
    /// Whether the RPC answers with the full assessment, decision included (its records hold
    /// one).
    pub fn decides(self) -> bool {
        matches!(
            self,
            Self::Score | Self::RecommendRetentionAction | Self::ScoreStream | Self::ModelInfer
        )
    }
}

/// The bundle that decided.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRef<'a> {
    /// Model name.
    pub name: Cow<'a, str>,
    /// Version directory.
    pub version: Cow<'a, str>,
    /// SHA-256 of the bundle's manifest.
    pub checksum: Cow<'a, str>,
}

impl<'a> From<&'a ModelId> for ModelRef<'a> {
    fn from(id: &'a ModelId) -> Self {
        Self {
            name: Cow::Borrowed(&id.name),
            version: Cow::Borrowed(&id.version),
            checksum: Cow::Borrowed(&id.checksum),
        }
    }
}

/// The scoring options the decision was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Churn reasons asked for.
    pub max_reasons: usize,
    /// Ineligible actions were collected.
    pub include_ineligible: bool,
}

impl From<AssessOptions> for Options {
    fn from(o: AssessOptions) -> Self {
        Self {
            max_reasons: o.max_reasons,
            include_ineligible: o.include_ineligible,
        }
    }
}

impl From<Options> for AssessOptions {
    fn from(o: Options) -> Self {
        Self {
            max_reasons: o.max_reasons,
            include_ineligible: o.include_ineligible,
        }
    }
}

/// Every profile field as the model scored it, but not the customer id.
///
/// Typed fields are written under their feature names with their own JSON type (counts as
/// integers, flags as booleans, amounts as numbers), then `extra_features`.
#[derive(Debug, Clone, Copy)]
pub struct ScoredInputs<'a>(pub &'a CustomerProfile);

impl serde::Serialize for ScoredInputs<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut map = s.serialize_map(Some(BuiltinFeature::ALL.len() + 1))?;
        for f in BuiltinFeature::ALL {
            let v = f.value(p);
            match f.kind() {
                // Counts are u32 fields: the f64 holds them exactly.
                FeatureKind::Count => map.serialize_entry(f.name(), &(v as u64))?,
                FeatureKind::Flag => map.serialize_entry(f.name(), &(v != 0.0))?,
                FeatureKind::Amount => map.serialize_entry(f.name(), &v)?,
            }
        }
        map.serialize_entry("extra_features", &p.extra_features)?;
        map.end()
    }
}

/// One decision as written: borrowed from the request, serialized once.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DecisionRecord<'a> {
    /// RFC 3339 UTC time, microseconds.
    pub time: String,
    /// The request id echoed to the caller (for ScoreStream, the stream's id).
    pub request_id: &'a str,
    /// The RPC.
    pub rpc: Rpc,
    /// Position of the customer in its stream or request (ScoreStream, ModelInfer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// The call's trace id (32 hex digits), when it belongs to a trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<&'a str>,
    /// The keyed hash of the customer id.
    pub customer: String,
    /// The deciding bundle.
    pub model: ModelRef<'a>,
    /// Scoring options.
    pub options: Options,
    /// The profile as scored, without the customer id.
    pub inputs: ScoredInputs<'a>,
    /// The answer.
    pub outputs: Outputs,
}

impl DecisionRecord<'_> {
    /// Appends the record and its newline to `out`.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail, and every field serializes (non-finite floats
        // become null rather than an error).
        serde_json::to_writer(&mut *out, self).expect("an audit record always serializes");
        out.push(b'\n');
    }

    /// The record as one line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write_line(&mut out);
        out
    }
}

/// The current time as written in records.
pub fn now() -> String {
    humantime::format_rfc3339_micros(SystemTime::now()).to_string()
}

/// One decision as read back from the log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// RFC 3339 UTC time.
    pub time: String,
    /// Request id.
    pub request_id: String,
    /// The RPC.
    pub rpc: Rpc,
    /// Position in the stream or request (ScoreStream, ModelInfer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// The call's trace id, when it belonged to a trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Keyed hash of the customer id.
    pub customer: String,
    /// The deciding bundle.
    pub model: ModelRef<'static>,
    /// Scoring options.
    pub options: Options,
    /// The profile as scored, without the customer id.
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// The answer.
    pub outputs: Outputs,
}

impl AuditEntry {
    /// The profile the decision scored, with the hashed id in place of the customer id (the
    /// scoring core never reads the id).
    ///
    /// # Errors
    /// The inputs are not a complete profile.
    pub fn profile(&self) -> Result<CustomerProfile, serde_json::Error> {
        let mut fields = self.inputs.clone();
        fields.insert(
            "customer_id".into(),
            serde_json::Value::String(self.customer.clone()),
        );
        serde_json::from_value(serde_json::Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::profile::tests::sample_profile;
    use crate::domain::tests::sample_model;

    fn model_id() -> ModelId {
        ModelId {
            name: "churn".into(),
            version: "v1".into(),
            checksum: "abc123".into(),
        }
    }

    #[test]
    fn a_record_round_trips_to_the_profile_and_outputs_it_was_written_from() {
        let mut p = sample_profile();
        p.extra_features.insert("app_rating".into(), 4.5);
        p.total_balance = 12_345.678_901_234_567;
        let m = sample_model();
        let a = m.assess(&p, AssessOptions::default()).unwrap();
        let id = model_id();
        let record = DecisionRecord {
            trace_id: None,
            time: now(),
            request_id: "req-1",
            rpc: Rpc::Score,
            record: None,
            customer: "hashed".into(),
            model: (&id).into(),
            options: AssessOptions::default().into(),
            inputs: ScoredInputs(&p),
            outputs: Outputs::of_assessment(&m, &a),
        };
        let line = record.to_line();
        assert_eq!(line.last(), Some(&b'\n'));
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);

        let entry: AuditEntry = serde_json::from_slice(&line).unwrap();
        assert_eq!(entry.rpc, Rpc::Score);
        assert_eq!(entry.model, ModelRef::from(&id));
        assert_eq!(entry.outputs, record.outputs);
        let back = entry.profile().unwrap();
        assert_eq!(
            back,
            CustomerProfile {
                customer_id: "hashed".into(),
                ..p
            }
        );
    }

    #[test]
    fn a_record_never_contains_the_clear_customer_id() {
        let p = sample_profile();
        let m = sample_model();
        let id = model_id();
        let line = DecisionRecord {
            trace_id: None,
            time: now(),
            request_id: "req-1",
            rpc: Rpc::PredictChurn,
            record: None,
            customer: "hashed".into(),
            model: (&id).into(),
            options: AssessOptions::default().into(),
            inputs: ScoredInputs(&p),
            outputs: Outputs::of_churn(&m.predict_churn(&p, 3).unwrap()),
        }
        .to_line();
        let text = String::from_utf8(line).unwrap();
        assert!(!text.contains(&p.customer_id), "{text}");
        assert!(!text.contains("customer_id"), "{text}");
        assert!(
            !text.contains("\"tier\""),
            "PredictChurn decides no tier: {text}"
        );
    }

    #[test]
    fn inputs_keep_each_field_type() {
        let p = sample_profile();
        let v = serde_json::to_value(ScoredInputs(&p)).unwrap();
        assert_eq!(v["age_years"], serde_json::json!(42));
        assert_eq!(v["salary_credited"], serde_json::json!(true));
        assert_eq!(v["balance_trend_3m"], serde_json::json!(-0.1));
        assert_eq!(v["extra_features"], serde_json::json!({}));
    }
}
