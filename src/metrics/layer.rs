//! A tower layer around every gRPC service: counts each call by RPC and status code and times
//! it, so failures the handlers never see (unknown methods, decoding errors, cancelled calls)
//! are counted too.
//!
//! The status comes from the `grpc-status` header of a trailers-only response (how tonic sends
//! errors), else from the response's trailers; a response dropped before its trailers (the
//! client went away) counts as `CANCELLED`. Latency runs until the trailers: the whole call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::requests::{RequestCounters, CANCELLED, UNKNOWN};

/// Adds [`RequestMetrics`] to a service; with no counters it only forwards.
#[derive(Debug, Clone, Default)]
pub struct RequestMetricsLayer {
    counters: Option<Arc<RequestCounters>>,
}

impl RequestMetricsLayer {
    /// A layer recording into `counters`, or forwarding when `None`.
    pub fn new(counters: Option<Arc<RequestCounters>>) -> Self {
        Self { counters }
    }
}

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetrics {
            inner,
            counters: self.counters.clone(),
        }
    }
}

/// The service [`RequestMetricsLayer`] makes.
#[derive(Debug, Clone)]
pub struct RequestMetrics<S> {
    inner: S,
    counters: Option<Arc<RequestCounters>>,
}

/// A call not finished yet: records itself when dropped, with the code set or `CANCELLED`.
#[derive(Debug)]
struct InFlight {
    counters: Arc<RequestCounters>,
    rpc: usize,
    start: Instant,
    code: Option<u8>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.counters.finished(
            self.rpc,
            self.code.unwrap_or(CANCELLED),
            self.start.elapsed(),
        );
    }
}

fn grpc_status(headers: &http::HeaderMap) -> Option<u8> {
    headers.get("grpc-status").map(|v| {
        v.to_str()
            .ok()
            .and_then(|s| s.parse::<u8>().ok())
            .unwrap_or(UNKNOWN)
    })
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RequestMetrics<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<MeteredBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let in_flight = self.counters.as_ref().map(|c| InFlight {
            counters: c.clone(),
            rpc: RequestCounters::rpc_index(req.uri().path()),
            start: Instant::now(),
            code: None,
        });
        ResponseFuture {
            inner: self.inner.call(req),
            in_flight,
        }
    }
}

pin_project! {
    /// The response of a metered call, on its way.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        in_flight: Option<InFlight>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = Result<http::Response<MeteredBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        let mut in_flight = this.in_flight.take();
        Poll::Ready(match result {
            Ok(response) => {
                // A trailers-only response (an error) carries its status in the headers.
                if let Some(code) = grpc_status(response.headers()) {
                    if let Some(mut f) = in_flight.take() {
                        f.code = Some(code);
                    }
                }
                Ok(response.map(|inner| MeteredBody { inner, in_flight }))
            }
            Err(e) => {
                if let Some(f) = in_flight.as_mut() {
                    f.code = Some(UNKNOWN);
                }
                Err(e)
            }
        })
    }
}

pin_project! {
    /// A response body that records its call when the trailers pass, or when it is dropped.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        in_flight: Option<InFlight>,
    }
}

impl<B: Body> Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(f)) => {
                if let Some(code) = f.trailers_ref().and_then(grpc_status) {
                    if let Some(mut done) = this.in_flight.take() {
                        done.code = Some(code);
                    }
                }
            }
            Some(Err(_)) => {
                if let Some(mut done) = this.in_flight.take() {
                    done.code = Some(UNKNOWN);
                }
            }
            None => {
                // Ended without trailers: not a gRPC ending.
                if let Some(mut done) = this.in_flight.take() {
                    done.code = Some(UNKNOWN);
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
