//! Raw clients for hostile tests: gRPC calls whose body bytes are chosen by the test (over the
//! h2 crate), and HTTP/2 frames written by hand for what no well-behaved client library sends.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::Code;

/// Every ScoringService and BatchScoringService method, as HTTP/2 paths.
pub const METHODS: [&str; 6] = [
    "/bankscore.v1.ScoringService/ClassifyValueTier",
    "/bankscore.v1.ScoringService/PredictChurn",
    "/bankscore.v1.ScoringService/RecommendRetentionAction",
    "/bankscore.v1.ScoringService/Score",
    "/bankscore.v1.BatchScoringService/ScoreStream",
    "/bankscore.v1.BatchScoringService/PlanCampaign",
];

/// Longest a raw call may take before the test calls it a hang.
pub const CALL_DEADLINE: Duration = Duration::from_secs(20);

/// A gRPC length-prefixed frame: the compressed flag, a declared length, then `body`.
pub fn frame(compressed: bool, declared_len: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + body.len());
    out.push(u8::from(compressed));
    out.extend_from_slice(&declared_len.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A well-formed frame around `body`.
pub fn message(body: &[u8]) -> Vec<u8> {
    frame(false, body.len() as u32, body)
}

/// How the server answered a raw call.
#[derive(Debug)]
pub enum Answer {
    /// A gRPC status, from the trailers or a trailers-only response.
    Status(Code, String),
    /// No gRPC status: the connection or stream was dropped, or the HTTP status was not 200.
    Broken(String),
}

/// An HTTP/2 connection for raw gRPC calls.
pub struct RawConnection {
    send: h2::client::SendRequest<Bytes>,
    driver: tokio::task::JoinHandle<()>,
}

impl RawConnection {
    /// Opens a connection to `address`.
    pub async fn open(address: SocketAddr) -> Self {
        let tcp = TcpStream::connect(address).await.expect("connect");
        tcp.set_nodelay(true).unwrap();
        let (send, connection) = h2::client::handshake(tcp).await.expect("handshake");
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        Self { send, driver }
    }

    /// Sends `body` as the whole request body of `path` and waits for the status.
    pub async fn call(&self, path: &str, body: Vec<u8>) -> Answer {
        match tokio::time::timeout(CALL_DEADLINE, self.exchange(path, body)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => Answer::Broken(format!("h2: {e}")),
            Err(_) => Answer::Broken(format!("no answer within {CALL_DEADLINE:?}")),
        }
    }

    /// Sends the request head and the first bytes, then stops: the stream stays open while the
    /// returned halves are held.
    pub async fn start(
        &self,
        path: &str,
        body: Vec<u8>,
    ) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
        let ready = self.send.clone().ready().await.expect("ready");
        let (response, mut stream) = ready_send(ready, path, false);
        stream.send_data(body.into(), false).expect("send");
        (response, stream)
    }

    /// Drops the TCP connection abruptly, without GOAWAY or stream resets.
    pub fn abort(self) {
        self.driver.abort();
    }

    async fn exchange(&self, path: &str, body: Vec<u8>) -> Result<Answer, h2::Error> {
        let ready = self.send.clone().ready().await?;
        let (response, mut stream) = ready_send(ready, path, false);
        stream.send_data(body.into(), true)?;
        let response = response.await?;
        if response.status() != http::StatusCode::OK {
            return Ok(Answer::Broken(format!("HTTP {}", response.status())));
        }
        if let Some(answer) = grpc_status(response.headers()) {
            return Ok(answer);
        }
        let mut body = response.into_body();
        while let Some(data) = body.data().await {
            let data = data?;
            let _ = body.flow_control().release_capacity(data.len());
        }
        Ok(match body.trailers().await? {
            Some(trailers) => grpc_status(&trailers)
                .unwrap_or_else(|| Answer::Broken("trailers without grpc-status".into())),
            None => Answer::Broken("no trailers".into()),
        })
    }
}

fn ready_send(
    mut send: h2::client::SendRequest<Bytes>,
    path: &str,
    end: bool,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let request = http::Request::post(format!("http://bankscore{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap();
    send.send_request(request, end).expect("send request")
}

fn grpc_status(headers: &http::HeaderMap) -> Option<Answer> {
    let code = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .parse::<i32>()
        .ok()?;
    let message = headers
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .unwrap_or_default();
    Some(Answer::Status(Code::from_i32(code), message.to_owned()))
}

/// HTTP/2 frame types and error codes the hand-written client needs.
pub mod h2frame {
    /// HEADERS.
    pub const HEADERS: u8 = 0x1;
    /// RST_STREAM.
    pub const RST_STREAM: u8 = 0x3;
    /// SETTINGS.
    pub const SETTINGS: u8 = 0x4;
    /// PING.
    pub const PING: u8 = 0x6;
    /// GOAWAY.
    pub const GOAWAY: u8 = 0x7;
    /// The REFUSED_STREAM error code.
    pub const REFUSED_STREAM: u32 = 0x7;
}

/// The client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One HTTP/2 frame.
pub fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A HEADERS frame (END_HEADERS, not END_STREAM) opening a gRPC call to `path`, its header
/// block HPACK-encoded as literals without indexing or Huffman coding.
pub fn grpc_headers(stream: u32, path: &str) -> Vec<u8> {
    let block = header_block(&[
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "bankscore"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]);
    h2_frame(h2frame::HEADERS, 0x4, stream, &block)
}

/// An HPACK header block of `fields`, each a literal without indexing (short names and values).
pub fn header_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in fields {
        block.push(0x00);
        block.push(name.len() as u8);
        block.extend_from_slice(name.as_bytes());
        block.push(value.len() as u8);
        block.extend_from_slice(value.as_bytes());
    }
    block
}

/// A frame read from the server: type, flags, stream id, payload.
pub struct ReadFrame {
    /// Frame type.
    pub kind: u8,
    /// Flags.
    pub flags: u8,
    /// Stream id.
    pub stream: u32,
    /// Payload.
    pub payload: Vec<u8>,
}

/// Reads one frame, or `None` when the connection is closed.
pub async fn read_frame(tcp: &mut TcpStream) -> Option<ReadFrame> {
    let mut head = [0u8; 9];
    tcp.read_exact(&mut head).await.ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).await.ok()?;
    Some(ReadFrame {
        kind: head[3],
        flags: head[4],
        stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
        payload,
    })
}

/// Writes the preface and empty SETTINGS, opening a hand-driven HTTP/2 connection.
pub async fn open_by_hand(address: SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(address).await.expect("connect");
    tcp.set_nodelay(true).unwrap();
    tcp.write_all(PREFACE).await.unwrap();
    tcp.write_all(&h2_frame(h2frame::SETTINGS, 0, 0, &[]))
        .await
        .unwrap();
    tcp
}
