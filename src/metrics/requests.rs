//! Requests by RPC and gRPC status code, and their latency, for every service the server runs.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use super::histogram::Histogram;

/// The RPCs counted by name; any other path counts as [`OTHER_RPC`], so that a scanner probing
/// random paths cannot create label values without bound.
pub const KNOWN_RPCS: &[&str] = &[
    "bankscore.v1.ScoringService/Score",
    "bankscore.v1.ScoringService/RecommendRetentionAction",
    "bankscore.v1.ScoringService/PredictChurn",
    "bankscore.v1.ScoringService/ClassifyValueTier",
    "bankscore.v1.BatchScoringService/ScoreStream",
    "bankscore.v1.BatchScoringService/PlanCampaign",
    "bankscore.v1.OutcomeService/ReportOutcomes",
    "bankscore.v1.ModelAdminService/ListModels",
    "bankscore.v1.ModelAdminService/Reload",
    "inference.GRPCInferenceService/ModelInfer",
    "inference.GRPCInferenceService/ModelMetadata",
    "inference.GRPCInferenceService/ModelReady",
    "inference.GRPCInferenceService/ServerMetadata",
    "inference.GRPCInferenceService/ServerReady",
    "inference.GRPCInferenceService/ServerLive",
    "grpc.health.v1.Health/Check",
    "grpc.health.v1.Health/Watch",
    "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The `rpc` label of a path not in [`KNOWN_RPCS`].
pub const OTHER_RPC: &str = "other";

/// gRPC status code names, by code.
pub const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// Code recorded when a response ends without a status (the client went away mid-call).
pub const CANCELLED: u8 = 1;
/// Code recorded when a status cannot be read.
pub const UNKNOWN: u8 = 2;

/// Counters of one RPC.
#[derive(Debug)]
pub struct RpcCounters {
    /// Finished calls, by status code.
    pub codes: [AtomicU64; 17],
    /// Time from the request's arrival to the end of its response (trailers), in seconds.
    pub latency: Histogram,
    /// Calls started and not finished yet.
    pub in_flight: AtomicI64,
}

/// Counters of every RPC.
#[derive(Debug)]
pub struct RequestCounters {
    rpcs: Box<[RpcCounters]>,
}

impl Default for RequestCounters {
    fn default() -> Self {
        Self {
            rpcs: (0..=KNOWN_RPCS.len())
                .map(|_| RpcCounters {
                    codes: Default::default(),
                    latency: Histogram::latency(),
                    in_flight: AtomicI64::new(0),
                })
                .collect(),
        }
    }
}

impl RequestCounters {
    /// The index of the RPC at `path` (`/package.Service/Method`); unknown paths share the last.
    #[inline]
    pub fn rpc_index(path: &str) -> usize {
        let method = path.strip_prefix('/').unwrap_or(path);
        KNOWN_RPCS
            .iter()
            .position(|r| *r == method)
            .unwrap_or(KNOWN_RPCS.len())
    }

    /// Records one call starting (it is in flight until [`RequestCounters::finished`]).
    #[inline]
    pub fn started(&self, rpc: usize) {
        self.rpcs[rpc].in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one finished call.
    #[inline]
    pub fn finished(&self, rpc: usize, code: u8, elapsed: Duration) {
        let r = &self.rpcs[rpc];
        r.in_flight.fetch_sub(1, Ordering::Relaxed);
        r.codes[usize::from(code).min(CODE_NAMES.len() - 1)].fetch_add(1, Ordering::Relaxed);
        r.latency.observe(elapsed.as_secs_f64());
    }

    /// `(rpc label, counters)` of every RPC.
    pub fn each(&self) -> impl Iterator<Item = (&str, &RpcCounters)> {
        KNOWN_RPCS
            .iter()
            .copied()
            .chain(std::iter::once(OTHER_RPC))
            .zip(self.rpcs.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_path_has_its_own_counters_and_an_unknown_one_counts_as_other() {
        assert_eq!(
            RequestCounters::rpc_index("/bankscore.v1.ScoringService/Score"),
            0
        );
        assert_eq!(
            RequestCounters::rpc_index("/bankscore.v1.Nope/Nothing"),
            KNOWN_RPCS.len()
        );
        let c = RequestCounters::default();
        c.finished(0, 3, Duration::from_micros(80));
        c.finished(KNOWN_RPCS.len(), 12, Duration::from_millis(2));
        let (name, score) = c.each().next().unwrap();
        assert_eq!(name, "bankscore.v1.ScoringService/Score");
        assert_eq!(score.codes[3].load(Ordering::Relaxed), 1);
        assert_eq!(c.each().last().unwrap().0, OTHER_RPC);
    }
}
