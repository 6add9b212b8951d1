//! What a model looks like as tensors: its inputs (one per profile field and extra feature the
//! churn model reads, plus the optional customer id) and its six outputs, with their datatypes.

use crate::domain::profile::{BuiltinFeature, FeatureKind, EXTRA_PREFIX};
use crate::domain::ScoringModel;

/// The optional input naming each row's customer (the audit log keeps its keyed hash).
pub const CUSTOMER_ID: &str = "customer_id";

/// The tensor datatypes bankscore's inputs and outputs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datatype {
    /// Yes/no: one byte, 0 or 1.
    Bool,
    /// A whole number: 8 bytes, little-endian.
    Int64,
    /// A real number: 8 bytes, little-endian IEEE 754.
    Fp64,
    /// A string: a 4-byte little-endian length, then the bytes.
    Bytes,
}

impl Datatype {
    /// The protocol's name of the datatype.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bool => "BOOL",
            Self::Int64 => "INT64",
            Self::Fp64 => "FP64",
            Self::Bytes => "BYTES",
        }
    }

    /// The datatype of a typed profile field: counts are INT64, flags BOOL, amounts FP64.
    pub fn of(kind: FeatureKind) -> Self {
        match kind {
            FeatureKind::Count => Self::Int64,
            FeatureKind::Flag => Self::Bool,
            FeatureKind::Amount => Self::Fp64,
        }
    }
}

/// A numeric input: a typed profile field, or an extra feature (its key) the churn model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    /// A typed profile field, named as in `CustomerProfile`.
    Builtin(BuiltinFeature),
    /// `extra.<key>`: the profile's `extra_features[key]`.
    Extra(&'a str),
}

impl<'a> Field<'a> {
    /// The input's name: the field's name, or `extra.<key>`.
    pub fn name(self) -> std::borrow::Cow<'a, str> {
        match self {
            Self::Builtin(f) => f.name().into(),
            Self::Extra(key) => format!("{EXTRA_PREFIX}{key}").into(),
        }
    }

    /// The input's datatype.
    pub fn datatype(self) -> Datatype {
        match self {
            Self::Builtin(f) => Datatype::of(f.kind()),
            Self::Extra(_) => Datatype::Fp64,
        }
    }

    /// The numeric input `name` of `model`, if it has one.
    pub fn named(model: &'a ScoringModel, name: &str) -> Option<Self> {
        match name.strip_prefix(EXTRA_PREFIX) {
            Some(key) => extra_keys(model).find(|k| *k == key).map(Self::Extra),
            None => BuiltinFeature::from_name(name).map(Self::Builtin),
        }
    }
}

/// The extra features `model`'s churn model reads, by key, in the model's order.
pub fn extra_keys(model: &ScoringModel) -> impl Iterator<Item = &str> {
    model
        .churn
        .features()
        .iter()
        .filter_map(|f| f.name.strip_prefix(EXTRA_PREFIX))
}

/// `model`'s numeric inputs in ModelMetadata's order (the column order of one `[N, F]`
/// tensor): the typed profile fields in `CustomerProfile` order, then the extra features.
pub fn numeric_inputs(model: &ScoringModel) -> impl Iterator<Item = Field<'_>> {
    BuiltinFeature::ALL
        .into_iter()
        .map(Field::Builtin)
        .chain(extra_keys(model).map(Field::Extra))
}

/// One answer per row, as a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Probability of churn within the model's horizon.
    ChurnProbability,
    /// Value tier: `A`, `B`, `C` or `sleeping`.
    ValueTier,
    /// The action worth taking, or `no_action`.
    BestAction,
    /// The best action's expected value (0 when none).
    ExpectedValue,
    /// What the customer is worth if kept.
    ValueAtRisk,
    /// Top of tier A.
    KeyAccount,
}

impl Output {
    /// Every output, in ModelMetadata's order (the order of a reply that asked for none).
    pub const ALL: [Output; 6] = [
        Self::ChurnProbability,
        Self::ValueTier,
        Self::BestAction,
        Self::ExpectedValue,
        Self::ValueAtRisk,
        Self::KeyAccount,
    ];

    /// The output's tensor name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ChurnProbability => "churn_probability",
            Self::ValueTier => "value_tier",
            Self::BestAction => "best_action",
            Self::ExpectedValue => "expected_value",
            Self::ValueAtRisk => "value_at_risk",
            Self::KeyAccount => "key_account",
        }
    }

    /// The output's datatype.
    pub fn datatype(self) -> Datatype {
        match self {
            Self::ChurnProbability | Self::ExpectedValue | Self::ValueAtRisk => Datatype::Fp64,
            Self::ValueTier | Self::BestAction => Datatype::Bytes,
            Self::KeyAccount => Datatype::Bool,
        }
    }

    /// The output called `name`.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.name() == name)
    }
}
