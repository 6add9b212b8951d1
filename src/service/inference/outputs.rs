//! The rows' assessments as the output tensors a caller asked for: typed contents, or raw
//! little-endian bytes (BYTES as a 4-byte length and the bytes) when the request sent raw inputs.

use super::signature::Output;
use super::v2::model_infer_request::InferRequestedOutputTensor;
use super::v2::model_infer_response::InferOutputTensor;
use super::v2::InferTensorContents;
use crate::domain::{Assessment, ScoringModel};
use crate::service::error::FieldError;

/// What the outputs say of one row.
#[derive(Debug, Clone, Copy)]
pub struct RowAnswer<'m> {
    churn_probability: f64,
    tier: crate::domain::ValueTier,
    best_action: &'m str,
    expected_value: f64,
    value_at_risk: f64,
    key_account: bool,
}

impl<'m> RowAnswer<'m> {
    /// The outputs of assessment `a` by `scoring`.
    pub fn of(scoring: &'m ScoringModel, a: &Assessment) -> Self {
        Self {
            churn_probability: a.churn.probability,
            tier: a.tier.tier,
            best_action: a.decision.best_action_id(&scoring.actions),
            expected_value: a.decision.best().map_or(0.0, |o| o.expected_value),
            value_at_risk: a.value.value_at_risk,
            key_account: a.tier.key_account,
        }
    }

    /// Output `o`'s value for this row.
    fn value(&self, o: Output) -> Value<'m> {
        match o {
            Output::ChurnProbability => Value::Number(self.churn_probability),
            Output::ValueTier => Value::Text(self.tier.name()),
            Output::BestAction => Value::Text(self.best_action),
            Output::ExpectedValue => Value::Number(self.expected_value),
            Output::ValueAtRisk => Value::Number(self.value_at_risk),
            Output::KeyAccount => Value::Flag(self.key_account),
        }
    }
}

/// One output value: FP64, BYTES or BOOL.
enum Value<'m> {
    Number(f64),
    Text(&'m str),
    Flag(bool),
}

/// The outputs a request asked for, in its order; every output when it named none.
///
/// # Errors
/// An output the model does not have, or one asked for twice.
pub fn requested(asked: &[InferRequestedOutputTensor]) -> Result<Vec<Output>, FieldError> {
    if asked.is_empty() {
        return Ok(Output::ALL.to_vec());
    }
    let mut outputs = Vec::with_capacity(asked.len());
    for o in asked {
        let field = || format!("outputs[\"{}\"]", o.name);
        let Some(out) = Output::named(&o.name) else {
            let names: Vec<&str> = Output::ALL.iter().map(|o| o.name()).collect();
            return Err(FieldError::new(
                field(),
                format_args!(
                    "is not an output of the model, which has {}",
                    names.join(", ")
                ),
            ));
        };
        if outputs.contains(&out) {
            return Err(FieldError::new(field(), "is asked for twice"));
        }
        outputs.push(out);
    }
    Ok(outputs)
}

/// The tensors of `outputs` for `rows` and, when `raw`, their raw contents (one per tensor).
pub fn tensors(
    outputs: &[Output],
    rows: &[RowAnswer<'_>],
    raw: bool,
) -> (Vec<InferOutputTensor>, Vec<Vec<u8>>) {
    let n = rows.len();
    let mut tensors = Vec::with_capacity(outputs.len());
    let mut raw_contents = Vec::with_capacity(if raw { outputs.len() } else { 0 });
    for &o in outputs {
        let mut contents = InferTensorContents::default();
        let mut bytes = Vec::with_capacity(if raw { rows.len() * 8 } else { 0 });
        for r in rows {
            match (r.value(o), raw) {
                (Value::Number(x), true) => bytes.extend_from_slice(&x.to_le_bytes()),
                (Value::Flag(b), true) => bytes.push(u8::from(b)),
                (Value::Text(t), true) => {
                    bytes.extend_from_slice(&(t.len() as u32).to_le_bytes());
                    bytes.extend_from_slice(t.as_bytes());
                }
                (Value::Number(x), false) => contents.fp64_contents.push(x),
                (Value::Flag(b), false) => contents.bool_contents.push(b),
                (Value::Text(t), false) => contents.bytes_contents.push(t.as_bytes().to_vec()),
            }
        }
        if raw {
            raw_contents.push(bytes);
        }
        tensors.push(InferOutputTensor {
            name: o.name().to_owned(),
            datatype: o.datatype().name().to_owned(),
            shape: vec![n as i64],
            parameters: Default::default(),
            contents: (!raw).then_some(contents),
        });
    }
    (tensors, raw_contents)
}
