//! What every bulk stream (ScoreStream, PlanCampaign) shares: the low-priority executor and the
//! limit on streams at once ([`Bulk`]), the result queue with back-pressure ([`Outbox`]), and
//! the idle and slow-reader timeouts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use super::error;
use crate::batch::BulkExecutor;

/// Results chunks a stream may have queued for a slow reader before the server stops reading.
const RESULT_QUEUE: usize = 2;
/// How long a stream waits for its client to read results before giving up on it.
pub const SLOW_READER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a bulk stream may stay silent before the server ends it.
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Shared state of bulk work: the executor, the stream limit and counters.
#[derive(Debug)]
pub struct Bulk {
    pub(super) executor: BulkExecutor,
    streams: Arc<Semaphore>,
    max_streams: usize,
    active: Arc<AtomicU64>,
}

impl Bulk {
    /// Bulk work on `threads` low-priority threads, at most `max_streams` streams at a time.
    pub fn new(threads: usize, max_streams: usize) -> Self {
        Self {
            executor: BulkExecutor::new(threads),
            streams: Arc::new(Semaphore::new(max_streams)),
            max_streams,
            active: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Bulk streams (ScoreStream and PlanCampaign) running now.
    pub fn active_streams(&self) -> u64 {
        self.active.load(Ordering::Relaxed)
    }

    pub(super) fn admit(&self) -> Result<Admitted, Status> {
        let permit = self
            .streams
            .clone()
            .try_acquire_owned()
            .map_err(|_| error::bulk_streams_busy(self.max_streams))?;
        self.active.fetch_add(1, Ordering::Relaxed);
        Ok(Admitted {
            _permit: permit,
            active: self.active.clone(),
        })
    }
}

/// A running bulk stream; dropping it frees its place.
pub(super) struct Admitted {
    _permit: OwnedSemaphorePermit,
    active: Arc<AtomicU64>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Results, then (if the stream failed) its final error, which never waits behind a full queue.
pub(super) type ResultStream<T> = tokio_stream::adapters::Chain<
    ReceiverStream<Result<T, Status>>,
    ReceiverStream<Result<T, Status>>,
>;

/// A result queue for a bulk stream: `results` blocks when full (backpressure), `fail` never does.
pub(super) struct Outbox<T> {
    results: mpsc::Sender<Result<T, Status>>,
    fail: mpsc::Sender<Result<T, Status>>,
}

impl<T> Outbox<T> {
    pub(super) fn new() -> (Self, ResultStream<T>) {
        use tokio_stream::StreamExt;
        let (results, rx) = mpsc::channel(RESULT_QUEUE);
        let (fail, err_rx) = mpsc::channel(1);
        let stream = ReceiverStream::new(rx).chain(ReceiverStream::new(err_rx));
        (Self { results, fail }, stream)
    }

    /// Queues a result; `false` when the stream should end (client gone or not reading).
    pub(super) async fn send(&self, item: T) -> bool {
        match tokio::time::timeout(SLOW_READER_TIMEOUT, self.results.send(Ok(item))).await {
            Ok(Ok(())) => true,
            Ok(Err(_)) => false,
            Err(_) => {
                tracing::warn!(timeout = ?SLOW_READER_TIMEOUT, "bulk stream ended: the client stopped reading results");
                self.fail(error::slow_reader(SLOW_READER_TIMEOUT));
                false
            }
        }
    }

    /// Ends the stream with `status`, after the results already queued.
    pub(super) fn fail(&self, status: Status) {
        let _ = self.fail.try_send(Err(status));
    }
}

/// The next message of a bulk stream, or an error after [`IDLE_TIMEOUT`] of silence.
pub(super) async fn next_message<T>(inbound: &mut Streaming<T>) -> Result<Option<T>, Status> {
    match tokio::time::timeout(IDLE_TIMEOUT, inbound.message()).await {
        Ok(result) => result,
        Err(_) => Err(error::idle_stream(IDLE_TIMEOUT)),
    }
}
