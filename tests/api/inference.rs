//! The Open Inference Protocol v2 on the scoring port: readiness and metadata follow the loaded
//! models, ModelInfer gives every row exactly Score's answer for the same customer in each
//! tensor layout (typed contents, raw contents, one `[N, F]` tensor), and a bad tensor or value
//! is INVALID_ARGUMENT naming the input and the row.

use std::sync::Arc;

use bankscore::audit::{AuditLog, AuditSettings, HashKey, Rpc};
use bankscore::domain::profile::{BuiltinFeature, FeatureKind};
use bankscore::domain::CustomerProfile;
use bankscore::service::auth::{token_hash, AuthSettings, Authenticator, Role, TokenSettings};
use bankscore::service::inference::v2::{
    self,
    grpc_inference_service_client::GrpcInferenceServiceClient,
    model_infer_request::{InferInputTensor, InferRequestedOutputTensor},
    InferTensorContents,
};
use bankscore::service::pb;
use bankscore::service::ServerConfig;
use tonic::transport::Channel;
use tonic::Code;

use crate::helpers::{context, customer, shipped_models, spawn_app, spawn_app_with, TestApp};

/// Input tensors and their raw contents.
type RawInputs = (Vec<InferInputTensor>, Vec<Vec<u8>>);

fn client(app: &TestApp) -> GrpcInferenceServiceClient<Channel> {
    GrpcInferenceServiceClient::new(app.channel.clone())
}

fn datatype(f: BuiltinFeature) -> &'static str {
    match f.kind() {
        FeatureKind::Count => "INT64",
        FeatureKind::Flag => "BOOL",
        FeatureKind::Amount => "FP64",
    }
}

fn tensor(
    name: &str,
    datatype: &str,
    shape: Vec<i64>,
    contents: Option<InferTensorContents>,
) -> InferInputTensor {
    InferInputTensor {
        name: name.into(),
        datatype: datatype.into(),
        shape,
        parameters: Default::default(),
        contents,
    }
}

/// One tensor per input, typed contents, shape `[N]`, with the customer ids.
fn typed_inputs(profiles: &[CustomerProfile]) -> Vec<InferInputTensor> {
    let n = profiles.len() as i64;
    let mut inputs: Vec<InferInputTensor> = BuiltinFeature::ALL
        .into_iter()
        .map(|f| {
            let mut c = InferTensorContents::default();
            for p in profiles {
                let v = f.value(p);
                match f.kind() {
                    FeatureKind::Count => c.int64_contents.push(v as i64),
                    FeatureKind::Flag => c.bool_contents.push(v == 1.0),
                    FeatureKind::Amount => c.fp64_contents.push(v),
                }
            }
            tensor(f.name(), datatype(f), vec![n], Some(c))
        })
        .collect();
    let ids = InferTensorContents {
        bytes_contents: profiles
            .iter()
            .map(|p| p.customer_id.clone().into_bytes())
            .collect(),
        ..Default::default()
    };
    inputs.push(tensor("customer_id", "BYTES", vec![n], Some(ids)));
    inputs
}

/// The same inputs as `raw_input_contents` (little-endian; BYTES with a 4-byte length), shape
/// `[N, 1]`, as tritonclient sends them.
fn raw_inputs(profiles: &[CustomerProfile]) -> RawInputs {
    let n = profiles.len() as i64;
    let mut inputs = Vec::new();
    let mut raw = Vec::new();
    for f in BuiltinFeature::ALL {
        let mut bytes = Vec::new();
        for p in profiles {
            let v = f.value(p);
            match f.kind() {
                FeatureKind::Count => bytes.extend_from_slice(&(v as i64).to_le_bytes()),
                FeatureKind::Flag => bytes.push(v as u8),
                FeatureKind::Amount => bytes.extend_from_slice(&v.to_le_bytes()),
            }
        }
        inputs.push(tensor(f.name(), datatype(f), vec![n, 1], None));
        raw.push(bytes);
    }
    let mut ids = Vec::new();
    for p in profiles {
        ids.extend_from_slice(&(p.customer_id.len() as u32).to_le_bytes());
        ids.extend_from_slice(p.customer_id.as_bytes());
    }
    inputs.push(tensor("customer_id", "BYTES", vec![n, 1], None));
    raw.push(ids);
    (inputs, raw)
}

/// Every numeric input in one FP64 `[N, 22]` tensor, row-major.
fn matrix(profiles: &[CustomerProfile]) -> Vec<f64> {
    profiles
        .iter()
        .flat_map(|p| BuiltinFeature::ALL.map(|f| f.value(p)))
        .collect()
}

fn request(inputs: Vec<InferInputTensor>, raw: Vec<Vec<u8>>) -> v2::ModelInferRequest {
    v2::ModelInferRequest {
        model_name: "churn".into(),
        inputs,
        raw_input_contents: raw,
        ..Default::default()
    }
}

/// The rows of a reply, read from typed or raw contents: (p, tier, action, EV, VaR, key).
type Row = (f64, String, String, f64, f64, bool);

fn rows(reply: &v2::ModelInferResponse) -> Vec<Row> {
    let raw = !reply.raw_output_contents.is_empty();
    let find = |name: &str| {
        let i = reply
            .outputs
            .iter()
            .position(|o| o.name == name)
            .unwrap_or_else(|| panic!("output {name}"));
        (&reply.outputs[i], reply.raw_output_contents.get(i))
    };
    let numbers = |name: &str| -> Vec<f64> {
        let (o, r) = find(name);
        assert_eq!(o.datatype, "FP64");
        match (raw, r) {
            (true, Some(r)) => r
                .chunks(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect(),
            _ => o.contents.as_ref().unwrap().fp64_contents.clone(),
        }
    };
    let texts = |name: &str| -> Vec<String> {
        let (o, r) = find(name);
        assert_eq!(o.datatype, "BYTES");
        match (raw, r) {
            (true, Some(r)) => {
                let mut out = Vec::new();
                let mut rest = r.as_slice();
                while !rest.is_empty() {
                    let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
                    out.push(String::from_utf8(rest[4..4 + len].to_vec()).unwrap());
                    rest = &rest[4 + len..];
                }
                out
            }
            _ => o
                .contents
                .as_ref()
                .unwrap()
                .bytes_contents
                .iter()
                .map(|b| String::from_utf8(b.clone()).unwrap())
                .collect(),
        }
    };
    let flags = |name: &str| -> Vec<bool> {
        let (o, r) = find(name);
        assert_eq!(o.datatype, "BOOL");
        match (raw, r) {
            (true, Some(r)) => r.iter().map(|&b| b == 1).collect(),
            _ => o.contents.as_ref().unwrap().bool_contents.clone(),
        }
    };
    let (p, tier, action, ev, var, key) = (
        numbers("churn_probability"),
        texts("value_tier"),
        texts("best_action"),
        numbers("expected_value"),
        numbers("value_at_risk"),
        flags("key_account"),
    );
    for o in &reply.outputs {
        assert_eq!(o.shape, vec![p.len() as i64], "{}", o.name);
    }
    (0..p.len())
        .map(|i| {
            (
                p[i],
                tier[i].clone(),
                action[i].clone(),
                ev[i],
                var[i],
                key[i],
            )
        })
        .collect()
}

/// What Score answers for `profile`, as the same row.
async fn score_row(app: &mut TestApp, profile: &CustomerProfile) -> Row {
    let reply = app
        .client
        .score(pb::ScoreRequest {
            context: context("oip-compare"),
            profile: Some(profile.into()),
            max_reasons: 0,
            include_ineligible: false,
        })
        .await
        .expect("score")
        .into_inner();
    let tier = match reply.tier.as_ref().unwrap().tier() {
        pb::ValueTier::A => "A",
        pb::ValueTier::B => "B",
        pb::ValueTier::C => "C",
        pb::ValueTier::Sleeping => "sleeping",
        pb::ValueTier::Unspecified => panic!("unspecified tier"),
    };
    let decision = reply.decision.unwrap();
    let (action, ev) = match &decision.best {
        Some(b) => (b.action_id.clone(), b.expected_value),
        None => ("no_action".to_owned(), 0.0),
    };
    let value = reply.value.unwrap();
    (
        reply.churn.unwrap().probability,
        tier.to_owned(),
        action,
        ev,
        value.value_at_risk,
        reply.tier.unwrap().key_account,
    )
}

#[tokio::test]
async fn every_layout_gives_each_row_exactly_the_answer_score_gives_that_customer() {
    let mut app = spawn_app().await;
    let profiles: Vec<CustomerProfile> = (0..200).map(customer).collect();
    let mut expected = Vec::new();
    for p in &profiles {
        expected.push(score_row(&mut app, p).await);
    }
    let actions: std::collections::BTreeSet<&str> = expected.iter().map(|r| r.2.as_str()).collect();
    assert!(
        actions.len() >= 2,
        "the sample covers more than one decision: {actions:?}"
    );
    let mut oip = client(&app);

    // One tensor per input, typed contents (what a grpcio client builds).
    let mut typed = request(typed_inputs(&profiles), Vec::new());
    typed.id = "typed-1".into();
    let reply = oip
        .model_infer(typed)
        .await
        .expect("typed infer")
        .into_inner();
    assert_eq!(
        (
            reply.model_name.as_str(),
            reply.model_version.as_str(),
            reply.id.as_str()
        ),
        ("churn", "v1", "typed-1")
    );
    assert!(reply.raw_output_contents.is_empty(), "typed in, typed out");
    assert_eq!(rows(&reply), expected);

    // Raw little-endian contents, shape [N, 1] (what tritonclient sends): raw outputs back.
    let (inputs, raw) = raw_inputs(&profiles);
    let reply = oip
        .model_infer(request(inputs, raw))
        .await
        .expect("raw infer")
        .into_inner();
    assert_eq!(reply.raw_output_contents.len(), 6);
    assert!(reply.outputs.iter().all(|o| o.contents.is_none()));
    assert_eq!(rows(&reply), expected);

    // One FP64 [N, 22] tensor in ModelMetadata's order, typed and raw.
    let n = profiles.len() as i64;
    let values = matrix(&profiles);
    let one = tensor(
        "input-0",
        "FP64",
        vec![n, 22],
        Some(InferTensorContents {
            fp64_contents: values.clone(),
            ..Default::default()
        }),
    );
    let reply = oip
        .model_infer(request(vec![one], Vec::new()))
        .await
        .expect("matrix")
        .into_inner();
    assert_eq!(rows(&reply), expected);
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let one = tensor("input-0", "FP64", vec![n, 22], None);
    let reply = oip
        .model_infer(request(vec![one], vec![raw]))
        .await
        .expect("raw matrix")
        .into_inner();
    assert_eq!(rows(&reply), expected);

    // 1,000 rows, on a bulk thread: answered in row order as the core answers.
    let many: Vec<CustomerProfile> = (1000..2000).map(customer).collect();
    let reply = oip
        .model_infer(request(typed_inputs(&many), Vec::new()))
        .await
        .expect("1,000 rows")
        .into_inner();
    let live = app.registry.champion().clone();
    let core: Vec<f64> = many
        .iter()
        .map(|p| {
            let opts = bankscore::domain::AssessOptions {
                max_reasons: 0,
                include_ineligible: false,
            };
            live.scoring.assess(p, opts).unwrap().churn.probability
        })
        .collect();
    let got: Vec<f64> = rows(&reply).iter().map(|r| r.0).collect();
    assert_eq!(got, core);

    // Requested outputs, in the caller's order; version pinning.
    let mut asked = request(typed_inputs(&profiles[..3]), Vec::new());
    asked.model_version = "v1".into();
    asked.outputs = ["best_action", "churn_probability"]
        .map(|name| InferRequestedOutputTensor {
            name: name.into(),
            parameters: Default::default(),
        })
        .to_vec();
    let reply = oip.model_infer(asked).await.expect("asked").into_inner();
    let names: Vec<&str> = reply.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["best_action", "churn_probability"]);
    let p = &reply.outputs[1].contents.as_ref().unwrap().fp64_contents;
    assert_eq!(p, &expected[..3].iter().map(|r| r.0).collect::<Vec<_>>());
    let mut unknown = request(typed_inputs(&profiles[..1]), Vec::new());
    unknown.model_version = "v9".into();
    let e = oip.model_infer(unknown).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{}", e.message());
    assert!(e.message().starts_with("model_version:"), "{}", e.message());
    app.stop().await.unwrap();
}

#[tokio::test]
async fn readiness_and_metadata_follow_the_loaded_model() {
    let app = spawn_app().await;
    let mut oip = client(&app);
    assert!(
        oip.server_live(v2::ServerLiveRequest {})
            .await
            .unwrap()
            .into_inner()
            .live
    );
    assert!(
        oip.server_ready(v2::ServerReadyRequest {})
            .await
            .unwrap()
            .into_inner()
            .ready
    );
    let ready = |name: &str, version: &str| v2::ModelReadyRequest {
        name: name.into(),
        version: version.into(),
    };
    for (name, version, want) in [
        ("churn", "", true),
        ("churn", "v1", true),
        ("churn", "v7", false),
        ("other", "", false),
    ] {
        let got = oip
            .model_ready(ready(name, version))
            .await
            .unwrap()
            .into_inner()
            .ready;
        assert_eq!(got, want, "{name} {version}");
    }
    let server = oip
        .server_metadata(v2::ServerMetadataRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(server.name, "bankscore");
    assert_eq!(server.version, env!("CARGO_PKG_VERSION"));
    assert!(!server.extensions.is_empty());

    let meta = oip
        .model_metadata(v2::ModelMetadataRequest {
            name: "churn".into(),
            version: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (meta.name.as_str(), meta.platform.as_str()),
        ("churn", "bankscore")
    );
    assert_eq!(meta.versions, ["v1"]);
    let inputs: Vec<(&str, &str)> = meta
        .inputs
        .iter()
        .map(|t| (t.name.as_str(), t.datatype.as_str()))
        .collect();
    let mut want: Vec<(&str, &str)> = BuiltinFeature::ALL
        .iter()
        .map(|f| (f.name(), datatype(*f)))
        .collect();
    want.push(("customer_id", "BYTES"));
    assert_eq!(inputs, want);
    let outputs: Vec<(&str, &str)> = meta
        .outputs
        .iter()
        .map(|t| (t.name.as_str(), t.datatype.as_str()))
        .collect();
    assert_eq!(
        outputs,
        [
            ("churn_probability", "FP64"),
            ("value_tier", "BYTES"),
            ("best_action", "BYTES"),
            ("expected_value", "FP64"),
            ("value_at_risk", "FP64"),
            ("key_account", "BOOL")
        ]
    );
    assert!(meta
        .inputs
        .iter()
        .chain(&meta.outputs)
        .all(|t| t.shape == [-1]));
    let e = oip
        .model_metadata(v2::ModelMetadataRequest {
            name: "other".into(),
            version: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("\"churn\""), "{}", e.message());
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_bad_tensor_or_value_is_invalid_argument_naming_the_input_and_row() {
    let app = spawn_app().await;
    let mut oip = client(&app);
    let profiles: Vec<CustomerProfile> = (0..5).map(customer).collect();
    let age = |inputs: &mut Vec<InferInputTensor>| {
        inputs.iter().position(|t| t.name == "age_years").unwrap()
    };
    type Edit = Box<dyn Fn(&mut v2::ModelInferRequest)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "a value out of range",
            Box::new(move |r| {
                let i = age(&mut r.inputs);
                r.inputs[i].contents.as_mut().unwrap().int64_contents[3] = 7;
            }),
            "input age_years, row 3: 7 is outside 18..=120",
        ),
        (
            "a datatype other than the metadata's",
            Box::new(move |r| {
                let i = age(&mut r.inputs);
                r.inputs[i].datatype = "FP64".into();
            }),
            "input age_years: datatype \"FP64\" does not match the model's INT64",
        ),
        (
            "a shape other than [N] or [N, 1]",
            Box::new(move |r| {
                let i = age(&mut r.inputs);
                r.inputs[i].shape = vec![5, 2];
            }),
            "input age_years: shape [5, 2] does not match [N] or [N, 1]",
        ),
        (
            "fewer values than the shape",
            Box::new(move |r| {
                let i = age(&mut r.inputs);
                r.inputs[i].contents.as_mut().unwrap().int64_contents.pop();
            }),
            "input age_years: has 4 INT64 values in contents; shape [5] needs 5",
        ),
        (
            "inputs with different row counts",
            Box::new(move |r| {
                let i = age(&mut r.inputs);
                r.inputs[i].shape = vec![4];
                r.inputs[i].contents.as_mut().unwrap().int64_contents.pop();
            }),
            "rows",
        ),
        (
            "a missing input",
            Box::new(move |r| {
                let i = age(&mut r.inputs);
                r.inputs.remove(i);
            }),
            "input age_years: is required",
        ),
        (
            "an input given twice",
            Box::new(move |r| {
                let i = age(&mut r.inputs);
                let t = r.inputs[i].clone();
                r.inputs.push(t);
            }),
            "input age_years: is given twice",
        ),
        (
            "an unknown input",
            Box::new(|r| {
                r.inputs.push(tensor("shoe_size", "FP64", vec![5], None));
            }),
            "input shoe_size: is not an input of model churn",
        ),
        (
            "an empty customer id",
            Box::new(|r| {
                let ids = r
                    .inputs
                    .iter_mut()
                    .find(|t| t.name == "customer_id")
                    .unwrap();
                ids.contents.as_mut().unwrap().bytes_contents[2].clear();
            }),
            "input customer_id, row 2: is required",
        ),
        (
            "an unknown output",
            Box::new(|r| {
                r.outputs.push(InferRequestedOutputTensor {
                    name: "credit_score".into(),
                    parameters: Default::default(),
                });
            }),
            "outputs[\"credit_score\"]: is not an output of the model",
        ),
        (
            "typed contents beside raw ones",
            Box::new(|r| {
                r.raw_input_contents = vec![Vec::new(); r.inputs.len()];
            }),
            "has typed contents while raw_input_contents is set",
        ),
    ];
    for (what, edit, message) in cases {
        let mut r = request(typed_inputs(&profiles), Vec::new());
        edit(&mut r);
        let e = oip.model_infer(r).await.expect_err(what);
        assert_eq!(e.code(), Code::InvalidArgument, "{what}: {}", e.message());
        assert!(
            e.message().contains(message),
            "{what}: {:?} lacks {message:?}",
            e.message()
        );
    }

    // Raw contents: lengths that do not match the shape, bytes that are not BOOL, a BYTES
    // element running past the end.
    let raw_case = |edit: &dyn Fn(&mut RawInputs)| {
        let mut raw = raw_inputs(&profiles);
        edit(&mut raw);
        request(raw.0, raw.1)
    };
    let index = |inputs: &[InferInputTensor], name: &str| {
        inputs.iter().position(|t| t.name == name).unwrap()
    };
    let raw_cases: Vec<(v2::ModelInferRequest, &str)> = vec![
        (
            raw_case(&|(i, r)| {
                let k = index(i, "total_balance");
                r[k].truncate(39);
            }),
            "input total_balance: has 39 bytes of raw_input_contents; shape [5, 1] needs 40",
        ),
        (
            raw_case(&|(i, r)| {
                let k = index(i, "open_complaint");
                r[k][4] = 2;
            }),
            "input open_complaint, row 4: byte 2 is not a BOOL (0 or 1)",
        ),
        (
            raw_case(&|(i, r)| {
                let k = index(i, "customer_id");
                let n = r[k].len();
                r[k].truncate(n - 1);
            }),
            "input customer_id, row 4: raw_input_contents says",
        ),
        (
            raw_case(&|(_, r)| {
                r.pop();
            }),
            "raw_input_contents: has 22 entries for 23 inputs",
        ),
    ];
    for (r, message) in raw_cases {
        let e = oip.model_infer(r).await.expect_err(message);
        assert_eq!(e.code(), Code::InvalidArgument, "{}", e.message());
        assert!(
            e.message().contains(message),
            "{:?} lacks {message:?}",
            e.message()
        );
    }

    // One [N, F] tensor: a bad value names the column and its input.
    let mut values = matrix(&profiles);
    values[22 + 12] = 0.5; // row 1, open_complaint
    let one = tensor(
        "input-0",
        "FP64",
        vec![5, 22],
        Some(InferTensorContents {
            fp64_contents: values,
            ..Default::default()
        }),
    );
    let e = oip
        .model_infer(request(vec![one], Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains(
            "input input-0 (column 12, open_complaint), row 1: 0.5 is not a yes/no value"
        ),
        "{}",
        e.message()
    );
    let one = tensor(
        "input-0",
        "FP64",
        vec![5, 21],
        Some(InferTensorContents {
            fp64_contents: vec![0.0; 105],
            ..Default::default()
        }),
    );
    let e = oip
        .model_infer(request(vec![one], Vec::new()))
        .await
        .unwrap_err();
    assert!(
        e.message().contains("shape [5, 21] does not match [N, 22]"),
        "{}",
        e.message()
    );

    // An unknown model.
    let mut r = request(typed_inputs(&profiles), Vec::new());
    r.model_name = "mortgage".into();
    let e = oip.model_infer(r).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(
        e.message().starts_with("model_name: no model \"mortgage\""),
        "{}",
        e.message()
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn model_infer_is_audited_row_by_row_and_needs_a_scorer_token() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let settings = AuditSettings {
        path: None,
        max_file_bytes: 1 << 30,
        hash_key: HashKey::new("oip-audit"),
        fsync: false,
        streams: false,
    };
    let auth = AuthSettings {
        enabled: true,
        tokens: vec![TokenSettings {
            name: "platform".into(),
            sha256: token_hash("scorer-secret")
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            roles: vec![Role::Scorer],
        }],
    };
    let config = ServerConfig {
        audit: Some(Arc::new(AuditLog::open(&log, &settings).unwrap())),
        auth: Some(Arc::new(Authenticator::new(&auth))),
        ..Default::default()
    };
    let app = spawn_app_with(&shipped_models(), config).await;
    let mut oip = client(&app);
    let profiles: Vec<CustomerProfile> = (0..600).map(customer).collect();
    let with_token = |token: Option<&str>, r: v2::ModelInferRequest| {
        let mut r = tonic::Request::new(r);
        if let Some(t) = token {
            r.metadata_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        r
    };
    for token in [None, Some("guess")] {
        let e = oip
            .model_infer(with_token(
                token,
                request(typed_inputs(&profiles[..1]), Vec::new()),
            ))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unauthenticated, "{token:?}");
    }
    // 600 rows: above the inline limit, assessed on a bulk thread.
    let mut r = request(typed_inputs(&profiles), Vec::new());
    r.id = "audited-infer".into();
    oip.model_infer(with_token(Some("scorer-secret"), r))
        .await
        .expect("infer with a token");
    app.stop().await.unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let entries: Vec<bankscore::audit::AuditEntry> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 600);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(
            (e.rpc, e.request_id.as_str(), e.record),
            (Rpc::ModelInfer, "audited-infer", Some(i as u64))
        );
        assert!(e.outputs.decision.is_some(), "row {i} records its decision");
    }
}
