//! Training: the synthetic customer generator, synthetic campaign histories with a known uplift,
//! and fitting a bundle from a labelled CSV.

pub mod campaign_history;
mod card;
pub mod dataset;
pub mod evaluate;
mod heartbeat;
pub mod synthetic;
mod train;
pub mod uplift_eval;

pub use train::{train, ClassWeight, TrainSettings, TrainedBundle, DEFAULT_ACTIONS_TOML};
