//! `GET /metrics` on a listener of its own: a minimal HTTP/1.1 responder (one request per
//! connection), so the scrape port never shares the gRPC port's HTTP/2 settings or limits.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::exposition::CONTENT_TYPE;
use super::registry::Metrics;

/// Largest request head read; a scrape request is a few hundred bytes.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long a client may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a scrape connection was dropped without an answer.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The request head did not arrive in time.
    #[error("no complete request within {0:?}")]
    Timeout(Duration),
    /// The request head is larger than [`MAX_REQUEST_BYTES`].
    #[error("request head larger than {MAX_REQUEST_BYTES} bytes")]
    TooLarge,
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Serves `GET /metrics` from `metrics` on `listener` until `shutdown` completes.
///
/// # Errors
/// Never at present: a failed accept is logged and retried after a pause.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let metrics = metrics.clone();
                    tokio::spawn(async move {
                        if let Err(e) = answer(stream, &metrics).await {
                            tracing::debug!(cause = %e, "metrics request dropped");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors, typically: back off instead of spinning.
                    tracing::warn!(cause = %e, "metrics listener cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// Reads the request head and answers it.
async fn answer(mut stream: TcpStream, metrics: &Metrics) -> Result<(), EndpointError> {
    let head = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream))
        .await
        .map_err(|_| EndpointError::Timeout(READ_TIMEOUT))??;
    let mut parts = head.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, body) = match (method, path) {
        ("GET", "/metrics") => ("200 OK", metrics.render()),
        (_, "/metrics") => ("405 Method Not Allowed", "only GET\n".to_owned()),
        _ => ("404 Not Found", "metrics are at /metrics\n".to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(())
}

/// The request line, once the whole head (up to the blank line) has arrived.
async fn read_head(stream: &mut TcpStream) -> Result<String, EndpointError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        if buf.len() > MAX_REQUEST_BYTES {
            return Err(EndpointError::TooLarge);
        }
    }
    let text = String::from_utf8_lossy(&buf);
    Ok(text.lines().next().unwrap_or("").to_owned())
}
