//! Batch work on the scoring core: the low-priority bulk executor, offline file scoring
//! (`bankscore score`), campaign planning within a budget (`bankscore plan`, `PlanCampaign`),
//! and measuring what a campaign did against its control group (`bankscore outcomes`).

mod executor;
pub mod file_format;
pub mod outcomes;
mod parquet_out;
pub mod plan;
pub mod plan_file;
pub mod read;
pub mod score_file;
mod staged;
pub mod write;

pub use executor::{BulkError, BulkExecutor, BULK_NICE};
