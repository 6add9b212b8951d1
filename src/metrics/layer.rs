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
        let in_flight = self.counters.as_ref().map(|c| {
            let rpc = RequestCounters::rpc_index(req.uri().path());
            c.started(rpc);
            InFlight {
                counters: c.clone(),
                rpc,
                start: Instant::now(),
                code: None,
            }
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

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::atomic::Ordering;

    use super::*;

    /// A response body that yields its trailers, if any, and ends.
    struct Trailing(Option<http::HeaderMap>);

    impl Body for Trailing {
        type Data = &'static [u8];
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
            Poll::Ready(self.0.take().map(|t| Ok(Frame::trailers(t))))
        }
    }

    /// A service answering every call with `reply()`.
    #[derive(Clone)]
    struct Reply(fn() -> http::Response<Trailing>);

    impl Service<http::Request<()>> for Reply {
        type Response = http::Response<Trailing>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _req: http::Request<()>) -> Self::Future {
            std::future::ready(Ok((self.0)()))
        }
    }

    fn status(code: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-status", code.parse().unwrap());
        h
    }

    fn score_calls(c: &RequestCounters, code: usize) -> u64 {
        let (_, score) = c.each().next().unwrap();
        score.codes[code].load(Ordering::Relaxed)
    }

    async fn call(reply: Reply, counters: &Arc<RequestCounters>) -> MeteredBody<Trailing> {
        let mut svc = RequestMetricsLayer::new(Some(counters.clone())).layer(reply);
        let req = http::Request::builder()
            .uri("/bankscore.v1.ScoringService/Score")
            .body(())
            .unwrap();
        svc.call(req).await.unwrap().into_body()
    }

    #[tokio::test]
    async fn an_error_in_the_headers_is_counted_when_the_response_starts() {
        let counters = Arc::new(RequestCounters::default());
        let reply = Reply(|| {
            let mut r = http::Response::new(Trailing(None));
            *r.headers_mut() = status("5");
            r
        });
        let _body = call(reply, &counters).await;
        assert_eq!(score_calls(&counters, 5), 1, "NOT_FOUND");
    }

    #[tokio::test]
    async fn a_status_in_the_trailers_is_counted_when_they_pass() {
        let counters = Arc::new(RequestCounters::default());
        let mut body = call(
            Reply(|| http::Response::new(Trailing(Some(status("0"))))),
            &counters,
        )
        .await;
        assert_eq!(score_calls(&counters, 0), 0, "not before the trailers");
        std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        assert_eq!(score_calls(&counters, 0), 1, "OK");
        drop(body);
        assert_eq!(score_calls(&counters, usize::from(CANCELLED)), 0);
    }

    #[tokio::test]
    async fn a_response_dropped_before_its_trailers_counts_as_cancelled() {
        let counters = Arc::new(RequestCounters::default());
        let body = call(
            Reply(|| http::Response::new(Trailing(Some(status("0"))))),
            &counters,
        )
        .await;
        drop(body);
        assert_eq!(score_calls(&counters, usize::from(CANCELLED)), 1);
        assert_eq!(score_calls(&counters, 0), 0);
    }

    #[tokio::test]
    async fn without_counters_the_layer_only_forwards() {
        let mut svc = RequestMetricsLayer::default()
            .layer(Reply(|| http::Response::new(Trailing(Some(status("0"))))));
        let resp = svc.call(http::Request::new(())).await.unwrap();
        assert!(resp.into_body().in_flight.is_none());
    }
}
