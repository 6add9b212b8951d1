//! Clients that stall, open more streams than allowed, or vanish mid-stream: the server refuses
//! what is over its limits, cleans up after what leaves, and well-behaved clients keep their
//! latency.

use std::time::{Duration, Instant};

use bankscore::service::pb;
use bankscore::service::MAX_CONCURRENT_STREAMS;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::transport::Channel;

use super::bodies::assert_still_scores;
use super::raw::{self, h2frame, message, RawConnection, PREFACE};
use crate::helpers::{context, pb_customer, spawn_app};

/// Median latency of `calls` Score calls on `client`, one after another.
async fn score_median(
    client: &mut pb::scoring_service_client::ScoringServiceClient<Channel>,
    calls: usize,
) -> Duration {
    let profile = pb_customer(11);
    let mut times = Vec::with_capacity(calls);
    for i in 0..calls {
        let request = pb::ScoreRequest {
            context: context(&format!("calm-{i}")),
            profile: Some(profile.clone()),
            max_reasons: 3,
            include_ineligible: false,
        };
        let start = Instant::now();
        client
            .score(request)
            .await
            .expect("a calm client is answered");
        times.push(start.elapsed());
    }
    times.sort();
    times[calls / 2]
}

/// How many of `stalled` the server has closed: each is read until it blocks for 50 ms.
async fn closed_by_server(stalled: &mut [TcpStream]) -> usize {
    let mut closed = 0;
    for tcp in stalled {
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_millis(50), tcp.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed += 1;
                    break;
                }
                Ok(Ok(_)) => continue, // the server's SETTINGS
                Err(_) => break,
            }
        }
    }
    closed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_do_not_slow_calm_clients() {
    let _exclusive = crate::helpers::cpu_heavy().await;
    let mut app = spawn_app().await;
    let idle = score_median(&mut app.client, 200).await;

    // 200 connections that never finish their handshake: silent, or half a preface.
    let mut stalled = Vec::new();
    for i in 0..200 {
        let mut tcp = TcpStream::connect(app.address).await.expect("connect");
        if i % 2 == 1 {
            tcp.write_all(&PREFACE[..PREFACE.len() / 2]).await.unwrap();
        }
        stalled.push(tcp);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let loaded = score_median(&mut app.client, 200).await;
    // A new client still gets in and is answered.
    let fresh = Instant::now();
    let mut newcomer = pb::scoring_service_client::ScoringServiceClient::new(
        Channel::from_shared(format!("http://{}", app.address))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("a new client connects beside 200 stalled ones"),
    );
    score_median(&mut newcomer, 1).await;
    let fresh = fresh.elapsed();

    let closed = closed_by_server(&mut stalled).await;
    eprintln!(
        "Score median: idle {idle:?}, beside 200 stalled connections {loaded:?}; \
         a new connection answered in {fresh:?}; stalled connections closed by the server: {closed}/200"
    );
    assert!(
        loaded <= idle * 3 + Duration::from_millis(2),
        "median {loaded:?} beside stalled connections vs {idle:?} idle"
    );
    assert!(
        fresh < Duration::from_secs(5),
        "a new connection took {fresh:?}"
    );
    drop(stalled);
    assert_still_scores(&mut app).await;
    app.stop().await.unwrap();
}

#[tokio::test]
async fn streams_beyond_the_limit_on_one_connection_are_refused() {
    let mut app = spawn_app().await;
    let extra = 44u32;
    let opened = MAX_CONCURRENT_STREAMS + extra;
    let mut tcp = raw::open_by_hand(app.address).await;
    let mut headers = Vec::new();
    for i in 0..opened {
        headers.extend(raw::grpc_headers(
            2 * i + 1,
            "/bankscore.v1.ScoringService/Score",
        ));
    }
    tcp.write_all(&headers).await.unwrap();

    let mut refused = Vec::new();
    let mut goaway = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while refused.len() < extra as usize && !goaway {
        let Ok(Some(frame)) = tokio::time::timeout_at(deadline, raw::read_frame(&mut tcp)).await
        else {
            break;
        };
        match frame.kind {
            h2frame::SETTINGS if frame.flags & 0x1 == 0 => {
                let ack = raw::h2_frame(h2frame::SETTINGS, 0x1, 0, &[]);
                tcp.write_all(&ack).await.unwrap();
            }
            h2frame::PING if frame.flags & 0x1 == 0 => {
                let pong = raw::h2_frame(h2frame::PING, 0x1, 0, &frame.payload);
                tcp.write_all(&pong).await.unwrap();
            }
            h2frame::RST_STREAM => {
                let code = u32::from_be_bytes(frame.payload[..4].try_into().unwrap());
                assert_eq!(code, h2frame::REFUSED_STREAM, "stream {}", frame.stream);
                refused.push(frame.stream);
            }
            h2frame::GOAWAY => goaway = true,
            _ => {}
        }
    }
    assert!(!goaway, "the server closed the whole connection");
    assert_eq!(
        refused.len(),
        extra as usize,
        "streams beyond {MAX_CONCURRENT_STREAMS} are refused"
    );
    assert!(
        refused.iter().all(|&s| s > 2 * MAX_CONCURRENT_STREAMS),
        "only the streams over the limit are refused: {refused:?}"
    );
    drop(tcp);
    assert_still_scores(&mut app).await;
    app.stop().await.unwrap();
}

/// The rapid-reset attack: a client that opens streams and cancels them at once, thousands in a
/// row. Past the cap on reset streams awaiting accept (64), the server sends GOAWAY with
/// ENHANCE_YOUR_CALM and drops the connection; other clients are not affected.
#[tokio::test]
async fn a_flood_of_opened_and_reset_streams_gets_the_connection_closed() {
    const ENHANCE_YOUR_CALM: u32 = 0xb;
    const CANCEL: u32 = 0x8;
    let mut app = spawn_app().await;
    let mut tcp = raw::open_by_hand(app.address).await;
    let mut flood = Vec::new();
    for i in 0..2_000u32 {
        let stream = 2 * i + 1;
        flood.extend(raw::grpc_headers(
            stream,
            "/bankscore.v1.ScoringService/Score",
        ));
        flood.extend(raw::h2_frame(
            h2frame::RST_STREAM,
            0,
            stream,
            &CANCEL.to_be_bytes(),
        ));
    }
    // The server may close the connection before it has read all of it.
    let _ = tcp.write_all(&flood).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut goaway = None;
    while goaway.is_none() {
        let Ok(Some(frame)) = tokio::time::timeout_at(deadline, raw::read_frame(&mut tcp)).await
        else {
            break;
        };
        if frame.kind == h2frame::GOAWAY {
            goaway = Some(u32::from_be_bytes(frame.payload[4..8].try_into().unwrap()));
        }
    }
    assert_eq!(
        goaway,
        Some(ENHANCE_YOUR_CALM),
        "GOAWAY(ENHANCE_YOUR_CALM) ends the flood"
    );
    drop(tcp);
    assert_still_scores(&mut app).await;
    app.stop().await.unwrap();
}

/// Streams the server must reset for a client's errors (here: a request without `:path`) count against the locally reset stream cap (256 per connection): past it, the
/// connection is sent away instead of resetting streams forever.
#[tokio::test]
async fn a_flood_of_malformed_streams_gets_the_connection_closed() {
    const ENHANCE_YOUR_CALM: u32 = 0xb;
    let mut app = spawn_app().await;
    let mut tcp = raw::open_by_hand(app.address).await;
    // No :path: a malformed request the server resets.
    let block = raw::header_block(&[
        (":method", "POST"),
        (":scheme", "http"),
        (":authority", "bankscore"),
        ("content-type", "application/grpc"),
    ]);
    let mut flood = Vec::new();
    for i in 0..1_000u32 {
        // END_STREAM | END_HEADERS
        flood.extend(raw::h2_frame(h2frame::HEADERS, 0x5, 2 * i + 1, &block));
    }
    let _ = tcp.write_all(&flood).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (mut resets, mut goaway) = (0, None);
    while goaway.is_none() {
        let Ok(Some(frame)) = tokio::time::timeout_at(deadline, raw::read_frame(&mut tcp)).await
        else {
            break;
        };
        match frame.kind {
            h2frame::RST_STREAM => resets += 1,
            h2frame::GOAWAY => {
                goaway = Some(u32::from_be_bytes(frame.payload[4..8].try_into().unwrap()));
            }
            _ => {}
        }
    }
    assert_eq!(goaway, Some(ENHANCE_YOUR_CALM), "after {resets} resets");
    assert!(
        resets <= 256,
        "{resets} streams reset before the connection was sent away"
    );
    drop(tcp);
    assert_still_scores(&mut app).await;
    app.stop().await.unwrap();
}

/// One ScoreStream chunk of `n` customers, as a gRPC frame.
fn chunk_frame(n: u64) -> Vec<u8> {
    let chunk = pb::ScoreStreamRequest {
        model_version: String::new(),
        max_reasons: 0,
        records: (0..n)
            .map(|i| pb::StreamRecord {
                record_id: format!("r{i}"),
                profile: Some(pb_customer(i)),
            })
            .collect(),
    };
    message(&chunk.encode_to_vec())
}

#[tokio::test]
async fn clients_vanishing_mid_stream_leave_no_bulk_stream_behind() {
    let mut app = spawn_app().await;
    let whole = chunk_frame(100);
    for round in 0..50 {
        let conn = RawConnection::open(app.address).await;
        // Even rounds leave after the first results, odd rounds in the middle of a message.
        let first = if round % 2 == 0 {
            whole.clone()
        } else {
            whole[..whole.len() / 2].to_vec()
        };
        let (response, _send) = conn
            .start("/bankscore.v1.BatchScoringService/ScoreStream", first)
            .await;
        let response = tokio::time::timeout(raw::CALL_DEADLINE, response)
            .await
            .expect("response head in time")
            .expect("response head");
        assert!(
            response.headers().get("grpc-status").is_none(),
            "round {round}: refused at once: {:?}",
            response.headers()
        );
        if round % 2 == 0 {
            let mut body = response.into_body();
            let data = tokio::time::timeout(raw::CALL_DEADLINE, body.data())
                .await
                .expect("first results in time");
            assert!(matches!(data, Some(Ok(_))), "round {round}: {data:?}");
        }
        conn.abort();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut active = crate::helpers::bulk_streams_active(app.address).await;
    while active > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        active = crate::helpers::bulk_streams_active(app.address).await;
    }
    assert_eq!(
        active, 0,
        "bulk streams still counted after 50 clients left"
    );
    assert_still_scores(&mut app).await;
    app.stop().await.unwrap();
}
