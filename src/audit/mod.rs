//! The decision audit log: one JSON line per decision, written before the reply is sent, and
//! its replay against the recorded model versions.
//!
//! - [`settings`]: where the log goes, its rotation size, the hash key (`[audit]` in settings);
//! - [`hash`]: the keyed hash that stands in for a customer id in the log and in logs;
//! - [`record`]: the record format (time, request, hashed customer, model, inputs as scored);
//! - [`outputs`]: the recorded answer and its comparison with a replayed one;
//! - [`file`]: the append-only file and its rotation by size;
//! - [`log`]: [`AuditLog`], the writer thread with group commit and its durability guarantee;
//! - [`calls`]: the records of scoring calls and ScoreStream chunks, as the gRPC edge writes them;
//! - [`replay`]: `bankscore replay`, re-scoring records and reporting any difference;
//! - [`outcomes`]: [`OutcomeLog`], observed outcomes recorded with the same hash and writer.

pub mod calls;
pub mod file;
pub mod hash;
pub mod log;
pub mod outcomes;
pub mod outputs;
pub mod record;
pub mod replay;
pub mod settings;

pub use calls::{AuditedCall, ChunkRecords};
pub use hash::CustomerHasher;
pub use log::{AuditError, AuditLog};
pub use outcomes::{OutcomeLog, OutcomeLogError, OutcomeRecord, OutcomesSettings};
pub use outputs::Outputs;
pub use record::{AuditEntry, DecisionRecord, Rpc};
pub use replay::{replay_files, ReplayReport};
pub use settings::{AuditSettings, HashKey};
