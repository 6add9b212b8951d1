//! Batch work on the scoring core: campaign planning within a budget.

pub mod plan;
