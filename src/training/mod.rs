//! Training: the synthetic customer generator, synthetic campaign histories with a known uplift,
//! fitting a bundle from a labelled CSV, and learning uplift from campaign history
//! (`train-uplift`) with its evaluation (Qini, AUUC, uplift by decile), and learned uplift measured
//! against the known answer of a synthetic campaign (`known_uplift`); the reports both commands
//! print (`report`).

pub mod campaign_history;
mod card;
pub mod dataset;
mod error;
pub mod evaluate;
mod heartbeat;
pub mod known_uplift;
mod report;
pub mod synthetic;
mod train;
pub mod uplift;
pub mod uplift_eval;

pub use error::TrainError;
pub use report::{TrainReport, UpliftReport};
pub use train::{
    population_retention, train, ClassWeight, TrainSettings, TrainedBundle, ValueSettings,
    DEFAULT_ACTIONS_TOML,
};
