//! The checks every call passes before a handler sees it, as one tower layer: the bearer token
//! and its role, the server-wide limit on calls in flight (refused at once, never queued), and
//! the deadline (the server's for unary calls, or the client's `grpc-timeout` if shorter).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tower_layer::Layer;
use tower_service::Service;

use super::auth::{required_role, Authenticator, Refusal};
use super::error;

/// What the guard enforces.
#[derive(Debug, Clone)]
pub struct GuardLayer {
    auth: Option<Arc<Authenticator>>,
    permits: Arc<Semaphore>,
    limit: usize,
    request_timeout: Duration,
}

impl GuardLayer {
    /// Tokens checked by `auth` (`None`: no authentication), at most `max_in_flight` calls at
    /// once, unary calls cut at `request_timeout`.
    pub fn new(
        auth: Option<Arc<Authenticator>>,
        max_in_flight: usize,
        request_timeout: Duration,
    ) -> Self {
        Self {
            auth,
            permits: Arc::new(Semaphore::new(max_in_flight)),
            limit: max_in_flight,
            request_timeout,
        }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`GuardLayer`] makes.
#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    layer: GuardLayer,
}

pin_project_lite::pin_project! {
    /// A guarded call on its way: refused at once, or the handler's future raced against the
    /// call's deadline, holding its place under the concurrency limit until it is dropped. No
    /// allocation per call.
    #[project = GuardedProj]
    pub enum Guarded<F, B> {
        /// Refused before reaching a handler.
        Refused { response: Option<http::Response<B>> },
        /// With a handler.
        Running {
            #[pin]
            call: F,
            #[pin]
            deadline: Option<tokio::time::Sleep>,
            limit: Duration,
            permit: Option<OwnedSemaphorePermit>,
        },
    }
}

impl<F, B, E> Future for Guarded<F, B>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    B: Default,
{
    type Output = Result<http::Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GuardedProj::Refused { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
            GuardedProj::Running {
                call,
                deadline,
                limit,
                ..
            } => {
                // The deadline is looked at first: when it is due, the caller hears
                // DEADLINE_EXCEEDED even if the transport's own `grpc-timeout` timer is due in
                // the same tick.
                if let Some(sleep) = deadline.as_pin_mut() {
                    if sleep.poll(cx).is_ready() {
                        return Poll::Ready(Ok(error::past_deadline(*limit).into_http()));
                    }
                }
                call.poll(cx)
            }
        }
    }
}

/// Whether a method's request is a stream (bulk work, reflection): those have no server
/// deadline, their own idle limits govern them.
fn streams_requests(path: &str) -> bool {
    path.starts_with("/bankscore.v1.BatchScoringService/") || path.starts_with("/grpc.reflection.")
}

/// Parses a `grpc-timeout` header value: up to 8 digits and a unit (H, M, S, m, u, n).
pub fn parse_grpc_timeout(value: &[u8]) -> Option<Duration> {
    let (unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Guard<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Guarded<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let refuse = |status: Status| Guarded::Refused {
            response: Some(status.into_http()),
        };
        let path = req.uri().path();
        let needs = required_role(path);
        if let (Some(auth), Some(needs)) = (&self.layer.auth, needs) {
            let header = req.headers().get(http::header::AUTHORIZATION);
            match auth.check(header.map(|h| h.as_bytes()), needs) {
                Ok(()) => {}
                Err(Refusal::Unauthenticated(why)) => return refuse(error::unauthenticated(why)),
                Err(Refusal::PermissionDenied { holder, needs }) => {
                    tracing::warn!(token = %holder, method = %path, "call refused: role missing");
                    return refuse(error::lacks_role(needs));
                }
            }
        }
        // Health checks always get through, so an overloaded server is not taken for a dead one.
        let permit = match needs {
            None => None,
            Some(_) => match self.layer.permits.clone().try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => return refuse(error::too_many_calls(self.layer.limit)),
            },
        };
        let client = req
            .headers()
            .get("grpc-timeout")
            .and_then(|v| parse_grpc_timeout(v.as_bytes()))
            // Answer just before the client gives up, so it hears why.
            .map(|d| {
                d.saturating_sub(Duration::from_millis(1))
                    .max(Duration::from_micros(100))
            });
        let server = (!streams_requests(path)).then_some(self.layer.request_timeout);
        let deadline = match (client, server) {
            (Some(c), Some(s)) => Some(c.min(s)),
            (c, s) => c.or(s),
        };
        Guarded::Running {
            call: self.inner.call(req),
            deadline: deadline.map(tokio::time::sleep),
            limit: deadline.unwrap_or_default(),
            permit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_in_every_unit_and_refuse_nonsense() {
        assert_eq!(
            parse_grpc_timeout(b"250m"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_grpc_timeout(b"2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout(b"1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout(b"5u"), Some(Duration::from_micros(5)));
        assert_eq!(parse_grpc_timeout(b"7n"), Some(Duration::from_nanos(7)));
        for bad in [&b""[..], b"m", b"123456789m", b"12x", b"-1S", b"1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    /// A service that answers after `delay`.
    #[derive(Clone)]
    struct Slow(Duration);

    impl Service<http::Request<()>> for Slow {
        type Response = http::Response<String>;
        type Error = std::convert::Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            let d = self.0;
            Box::pin(async move {
                tokio::time::sleep(d).await;
                Ok(http::Response::new("done".to_owned()))
            })
        }
    }

    fn status(r: &http::Response<String>) -> Option<&str> {
        r.headers().get("grpc-status").and_then(|v| v.to_str().ok())
    }

    fn score_request() -> http::Request<()> {
        http::Request::builder()
            .uri("/bankscore.v1.ScoringService/Score")
            .body(())
            .unwrap()
    }

    #[tokio::test]
    async fn a_unary_call_past_the_server_deadline_gets_deadline_exceeded() {
        let layer = GuardLayer::new(None, 8, Duration::from_millis(50));
        let mut slow = layer.layer(Slow(Duration::from_secs(5)));
        let r = slow.call(score_request()).await.unwrap();
        assert_eq!(status(&r), Some("4"), "DEADLINE_EXCEEDED");
        let mut quick = layer.layer(Slow(Duration::from_millis(1)));
        let r = quick.call(score_request()).await.unwrap();
        assert_eq!(status(&r), None);
        assert_eq!(r.body(), "done");
    }

    #[tokio::test]
    async fn a_shorter_client_timeout_wins_and_bulk_streams_have_no_server_deadline() {
        let layer = GuardLayer::new(None, 8, Duration::from_secs(60));
        let mut slow = layer.layer(Slow(Duration::from_secs(5)));
        let mut req = score_request();
        req.headers_mut()
            .insert("grpc-timeout", "30m".parse().unwrap());
        let started = std::time::Instant::now();
        let r = slow.call(req).await.unwrap();
        assert_eq!(status(&r), Some("4"));
        assert!(started.elapsed() < Duration::from_secs(2));

        let layer = GuardLayer::new(None, 8, Duration::from_millis(10));
        let mut bulk = layer.layer(Slow(Duration::from_millis(100)));
        let req = http::Request::builder()
            .uri("/bankscore.v1.BatchScoringService/PlanCampaign")
            .body(())
            .unwrap();
        let r = bulk.call(req).await.unwrap();
        assert_eq!(
            status(&r),
            None,
            "bulk work is not cut by the unary deadline"
        );
    }

    #[tokio::test]
    async fn calls_beyond_the_limit_are_refused_at_once_and_health_still_answers() {
        let layer = GuardLayer::new(None, 1, Duration::from_secs(60));
        let mut slow = layer.layer(Slow(Duration::from_millis(300)));
        let first = tokio::spawn({
            let mut s = slow.clone();
            async move { s.call(score_request()).await.unwrap() }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        let second = slow.call(score_request()).await.unwrap();
        assert_eq!(status(&second), Some("8"), "RESOURCE_EXHAUSTED");
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "refused without waiting"
        );
        let health = http::Request::builder()
            .uri("/grpc.health.v1.Health/Check")
            .body(())
            .unwrap();
        assert_eq!(status(&slow.call(health).await.unwrap()), None);
        assert_eq!(status(&first.await.unwrap()), None);
        assert_eq!(
            status(&slow.call(score_request()).await.unwrap()),
            None,
            "the permit came back"
        );
    }
}
