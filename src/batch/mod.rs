//! Batch work on the scoring core: the low-priority bulk executor, offline file scoring
//! (`bankscore score`), campaign planning within a budget (`bankscore plan`, `PlanCampaign`),
//! measuring what a campaign did against its control group (`bankscore outcomes`), and
//! estimating what a candidate bundle's policy would retain from logged decisions
//! (`bankscore evaluate-policy`), and each customer's learned uplift per action
//! (`bankscore uplift`).

mod error;
mod executor;
pub mod file_format;
pub mod outcomes;
mod parquet_out;
pub mod plan;
pub mod plan_file;
pub mod policy_eval;
pub mod read;
pub mod score_file;
mod staged;
pub mod text;
pub mod uplift_file;
pub mod write;

pub use error::FileError;
pub use executor::{BulkError, BulkExecutor, BULK_NICE};
