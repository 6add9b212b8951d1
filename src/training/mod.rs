//! Training: the synthetic customer generator and fitting a bundle from a labelled CSV.

pub mod dataset;
pub mod evaluate;
pub mod synthetic;
mod train;

pub use train::{train, TrainSettings, TrainedBundle, DEFAULT_ACTIONS_TOML};
