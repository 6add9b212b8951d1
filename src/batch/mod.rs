//! Batch work on the scoring core: the low-priority bulk executor, offline file scoring
//! (`bankscore score`), and campaign planning within a budget (`bankscore plan`, `PlanCampaign`).

mod executor;
pub mod file_format;
mod parquet_out;
pub mod plan;
pub mod plan_file;
pub mod read;
pub mod score_file;
pub mod write;

pub use executor::{BulkError, BulkExecutor, BULK_NICE};
