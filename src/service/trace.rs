//! The trace of every call: a tower layer that opens the call's one `rpc` span, continuing the
//! caller's trace when the call's metadata carries a W3C `traceparent`, and puts the call's
//! [`CallTrace`] in the request's extensions for the audit log. Handlers record the request id,
//! the model, and the decision kind on the span; the pipeline opens its child spans (`assess`,
//! `audit`). Health checks are not traced: load balancers call them every few seconds.

use std::task::{Context, Poll};

use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TraceContextExt;
use tower_layer::Layer;
use tower_service::Service;
use tracing::field::Empty;
use tracing::instrument::{Instrument, Instrumented};
use tracing_opentelemetry::OpenTelemetrySpanExt;

pub use crate::telemetry::{parse_traceparent, CallTrace};

/// Reads trace context from a call's HTTP/2 headers (gRPC metadata).
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Adds [`Traced`] to a service.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceLayer;

impl<S> Layer<S> for TraceLayer {
    type Service = Traced<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Traced { inner }
    }
}

/// The service [`TraceLayer`] makes.
#[derive(Debug, Clone)]
pub struct Traced<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for Traced<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if path.starts_with("/grpc.health.v1.") {
            return self.inner.call(request).instrument(tracing::Span::none());
        }
        let rpc = path.trim_start_matches('/');
        let (service, method) = rpc.split_once('/').unwrap_or((rpc, ""));
        let span = tracing::info_span!(
            "rpc",
            otel.name = rpc,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            rpc = rpc,
            request_id = Empty,
            model_name = Empty,
            model_version = Empty,
            decision_kind = Empty,
            trace_id = Empty,
        );
        let headers = request.headers();
        let caller = headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_traceparent);
        if caller.is_some() {
            let parent =
                opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(headers)));
            // Fails only when spans are not exported (no OpenTelemetry layer): nothing to link.
            let _ = span.set_parent(parent);
        }
        // The exported span's trace (the caller's when continued), else the caller's as sent.
        let exported = span.context().span().span_context().trace_id();
        let trace_id = if exported != opentelemetry::trace::TraceId::INVALID {
            Some(u128::from_be_bytes(exported.to_bytes()))
        } else {
            caller.map(|(trace, _)| trace)
        };
        if let Some(trace_id) = trace_id {
            let trace = CallTrace { trace_id };
            span.record("trace_id", tracing::field::display(trace));
            request.extensions_mut().insert(trace);
        }
        let call = {
            let _in_span = span.enter();
            self.inner.call(request)
        };
        call.instrument(span)
    }
}

/// The trace of a call, from its extensions.
pub fn of<T>(request: &tonic::Request<T>) -> Option<CallTrace> {
    request.extensions().get::<CallTrace>().copied()
}
