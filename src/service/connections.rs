//! Admission of connections: at most [`Limits::max_connections`](super::Limits) open at once
//! (a connection beyond is closed at once, with a warning), and a connection that has not sent
//! the 24-byte HTTP/2 client preface within [`Limits::preface_timeout`](super::Limits) is
//! closed, so that idle sockets cannot hold the server's file descriptors. (A TLS connection's
//! preface follows its handshake, which has its own timeout.)

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_stream::{Stream, StreamExt};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// Bytes of the HTTP/2 client connection preface (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`).
pub const PREFACE_BYTES: usize = 24;
/// TCP keep-alive idle time on accepted connections.
pub const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// An accepted connection: its share of the connection limit, and the deadline of its preface.
pub struct Admitted {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    preface: Option<Pin<Box<tokio::time::Sleep>>>,
    read: usize,
}

impl AsyncRead for Admitted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.read += buf.filled().len() - before;
            if self.read >= PREFACE_BYTES {
                self.preface = None;
            }
            return polled;
        }
        if let Some(deadline) = self.preface.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no HTTP/2 preface in time: connection closed",
                )));
            }
        }
        polled
    }
}

impl AsyncWrite for Admitted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

impl Connected for Admitted {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

/// The connections `listener` accepts, at most `max_connections` open at once, each closed when
/// its preface has not arrived within `preface_timeout`. Nagle's algorithm is off (it would hold
/// small replies back for up to 40 ms) and TCP keep-alive on.
pub fn admit(
    listener: TcpListener,
    max_connections: usize,
    preface_timeout: Duration,
) -> impl Stream<Item = io::Result<Admitted>> {
    let slots = Arc::new(Semaphore::new(max_connections));
    tokio_stream::wrappers::TcpListenerStream::new(listener).filter_map(move |accepted| {
        let stream = match accepted {
            Ok(s) => s,
            Err(e) => return Some(Err(e)),
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(peer = ?stream.peer_addr().ok(), max_connections,
                "connection limit reached: closing a new connection");
            return None;
        };
        let _ = stream.set_nodelay(true);
        let keepalive = socket2::TcpKeepalive::new().with_time(TCP_KEEPALIVE);
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive);
        Some(Ok(Admitted {
            stream,
            _slot: slot,
            preface: Some(Box::pin(tokio::time::sleep(preface_timeout))),
            read: 0,
        }))
    })
}
