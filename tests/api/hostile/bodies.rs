//! Hostile message bodies over real HTTP/2: arbitrary bytes as the gRPC message of every method,
//! and malformed length-prefixed frames. Each gets a gRPC status, never a dropped connection, and
//! the server answers a normal Score afterwards.

use bankscore::service::{pb, MAX_MESSAGE_BYTES};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use prost::Message;
use tonic::Code;

use super::raw::{frame, message, Answer, RawConnection, METHODS};
use crate::helpers::{context, pb_customer, spawn_app, TestApp};

/// The server still scores a well-formed request.
pub async fn assert_still_scores(app: &mut TestApp) {
    let request = pb::ScoreRequest {
        context: context("after-hostile"),
        profile: Some(pb_customer(3)),
        max_reasons: 3,
        include_ineligible: false,
    };
    let reply = tokio::time::timeout(super::raw::CALL_DEADLINE, app.client.score(request))
        .await
        .expect("Score answered in time")
        .expect("Score succeeds");
    let p = reply.into_inner().churn.expect("churn").probability;
    assert!((0.0..=1.0).contains(&p));
}

/// Codes a clean refusal of a hostile body may carry (the stream methods answer OK to an empty
/// chunk, and NOT_FOUND to a model version made of noise).
const CLEAN: [Code; 6] = [
    Code::Ok,
    Code::InvalidArgument,
    Code::Internal,
    Code::NotFound,
    Code::OutOfRange,
    Code::FailedPrecondition,
];

/// Bytes that are mostly noise, sometimes a real request with a few bytes changed.
fn hostile_body() -> impl Strategy<Value = Vec<u8>> {
    let real = pb::ScoreRequest {
        context: context("noise"),
        profile: Some(pb_customer(1)),
        max_reasons: 3,
        include_ineligible: false,
    }
    .encode_to_vec();
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6).prop_map(
            move |flips| {
                let mut bytes = real.clone();
                for (at, byte) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] = byte;
                }
                bytes
            }
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_as_the_message_of_every_method_get_a_clean_status() {
    let mut app = spawn_app().await;
    let conn = RawConnection::open(app.address).await;
    let handle = tokio::runtime::Handle::current();
    let seen = std::cell::RefCell::new(std::collections::BTreeMap::<(&str, i32), usize>::new());
    for path in METHODS {
        let mut runner = TestRunner::new(Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        });
        let result = tokio::task::block_in_place(|| {
            runner.run(&hostile_body(), |body| {
                let answer = handle.block_on(conn.call(path, message(&body)));
                match answer {
                    Answer::Status(code, text) => {
                        prop_assert!(CLEAN.contains(&code), "{path}: {code:?} {text}");
                        *seen.borrow_mut().entry((path, code as i32)).or_default() += 1;
                    }
                    Answer::Broken(why) => prop_assert!(false, "{path}: {why}"),
                }
                Ok(())
            })
        });
        result.unwrap();
    }
    eprintln!("statuses by (method, code): {:?}", seen.borrow());
    assert_still_scores(&mut app).await;
    app.stop().await.unwrap();
}

#[tokio::test]
async fn malformed_frames_get_a_clean_status_and_the_server_stays_up() {
    let mut app = spawn_app().await;
    let body = pb::ScoreRequest {
        context: context("frame"),
        profile: Some(pb_customer(2)),
        max_reasons: 3,
        include_ineligible: false,
    }
    .encode_to_vec();
    let over = MAX_MESSAGE_BYTES + 1;
    let cases: Vec<(&str, Vec<u8>, &[Code])> = vec![
        (
            "a prefix promising more bytes than sent",
            frame(false, body.len() as u32 + 100, &body),
            &[Code::Internal, Code::InvalidArgument],
        ),
        (
            "a prefix promising 4 GiB",
            frame(false, u32::MAX, &body),
            &[Code::OutOfRange, Code::ResourceExhausted],
        ),
        (
            "half a prefix",
            vec![0, 0, 0],
            &[Code::Internal, Code::InvalidArgument],
        ),
        (
            "the compressed flag without grpc-encoding",
            frame(true, body.len() as u32, &body),
            &[Code::Internal, Code::Unimplemented, Code::InvalidArgument],
        ),
        (
            "an unknown flag value",
            {
                let mut f = message(&body);
                f[0] = 0x80;
                f
            },
            &[Code::Internal, Code::InvalidArgument],
        ),
        (
            "a message one byte over the 4 MiB limit",
            frame(false, over as u32, &vec![0u8; over]),
            &[Code::OutOfRange, Code::ResourceExhausted],
        ),
        (
            "two messages for a unary call",
            [message(&body), message(&body)].concat(),
            // tonic answers the first message and ignores the rest (gRPC asks for an error).
            &[
                Code::Ok,
                Code::Unimplemented,
                Code::Internal,
                Code::InvalidArgument,
            ],
        ),
    ];
    for path in [METHODS[3], METHODS[4]] {
        let conn = RawConnection::open(app.address).await;
        for (what, bytes, expected) in &cases {
            if path.ends_with("ScoreStream") && what.starts_with("two messages") {
                continue; // two chunks are a valid stream
            }
            match conn.call(path, bytes.clone()).await {
                Answer::Status(code, text) => assert!(
                    expected.contains(&code),
                    "{path}, {what}: {code:?} {text} (expected one of {expected:?})"
                ),
                Answer::Broken(why) => panic!("{path}, {what}: no gRPC status: {why}"),
            }
        }
    }
    assert_still_scores(&mut app).await;
    app.stop().await.unwrap();
}
