//! Batch work on the scoring core: the low-priority bulk executor, scoring chunks of customers,
//! and campaign planning within a budget.

mod executor;
pub mod plan;

pub use executor::{BulkExecutor, ShutDown, BULK_NICE};
