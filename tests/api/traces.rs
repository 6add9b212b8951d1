//! OpenTelemetry traces: with `[tracing] otlp_endpoint` set, the server exports one span per RPC
//! over OTLP/gRPC, continuing the caller's W3C trace, with the request id, model, and decision
//! kind, and child spans for the assessment and the audit record; the customer id never
//! appears. The collector is a tonic server for the OTLP trace service started by the test.

use std::sync::{Arc, Mutex};

use bankscore::service::inference::v2::{
    grpc_inference_service_client::GrpcInferenceServiceClient, ModelMetadataRequest,
};
use bankscore::service::pb::{self, scoring_service_client::ScoringServiceClient};
use opentelemetry_proto::tonic::collector::trace::v1::{
    trace_service_server::{TraceService, TraceServiceServer},
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, Span};
use tonic::transport::Channel;

use crate::helpers::{context, customer, pb_customer, shipped_models};
use crate::serve_process::ServeProcess;

/// Collects every exported span.
#[derive(Default, Clone)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
    service_names: Arc<Mutex<Vec<String>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        for resource in request.into_inner().resource_spans {
            for kv in resource.resource.iter().flat_map(|r| &r.attributes) {
                if kv.key == "service.name" {
                    if let Some(Value::StringValue(v)) =
                        kv.value.as_ref().and_then(|v| v.value.clone())
                    {
                        self.service_names.lock().unwrap().push(v);
                    }
                }
            }
            for scope in resource.scope_spans {
                self.spans.lock().unwrap().extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            Value::IntValue(i) => Some(i.to_string()),
            Value::BoolValue(b) => Some(b.to_string()),
            other => Some(format!("{other:?}")),
        })
}

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_SPAN: &str = "b7ad6b7169203331";

#[tokio::test]
async fn spans_reach_the_collector_in_the_callers_trace_with_child_spans_and_no_customer_id() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_address = listener.local_addr().unwrap();
    let collector = Collector::default();
    let (stop_collector, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async {
                    let _ = stopped.await;
                },
            ),
    );

    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let audit_arg = audit.display().to_string();
    let endpoint = format!("http://{collector_address}");
    let mut server = ServeProcess::local(
        &shipped_models(),
        &["--audit-log", &audit_arg],
        &[
            ("BANKSCORE_AUDIT_HASH_KEY", "traces-test-key"),
            ("BANKSCORE_TRACING_OTLP_ENDPOINT", &endpoint),
            ("BANKSCORE_TRACING_SERVICE_NAME", "bankscore-under-test"),
        ],
    );
    let address = server.address();
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = tonic::Request::new(pb::ScoreRequest {
        context: context("req-traced"),
        profile: Some(pb_customer(5)),
        max_reasons: 3,
        include_ineligible: false,
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{PARENT_SPAN}-01").parse().unwrap(),
    );
    let reply = ScoringServiceClient::new(channel.clone())
        .score(request)
        .await
        .unwrap()
        .into_inner();
    // A call without a trace context starts a trace of its own.
    GrpcInferenceServiceClient::new(channel)
        .model_metadata(ModelMetadataRequest {
            name: "churn".into(),
            version: String::new(),
        })
        .await
        .unwrap();
    server.signal("-TERM");
    let (exit, log) = server.exit().await;
    assert!(exit.success(), "{exit:?}: {log:?}");
    // The spans were exported when the server stopped: the collector has them now.
    let _ = stop_collector.send(());
    serving.await.unwrap().unwrap();

    let spans = collector.spans.lock().unwrap().clone();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let rpc = spans
        .iter()
        .find(|s| s.name == "bankscore.v1.ScoringService/Score")
        .unwrap_or_else(|| panic!("no Score span among {names:?}"));
    assert_eq!(hex(&rpc.trace_id), TRACE_ID, "the caller's trace continues");
    assert_eq!(
        hex(&rpc.parent_span_id),
        PARENT_SPAN,
        "the caller's span is the parent"
    );
    assert_eq!(rpc.kind, SpanKind::Server as i32);
    assert_eq!(attribute(rpc, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(
        attribute(rpc, "rpc.service").as_deref(),
        Some("bankscore.v1.ScoringService")
    );
    assert_eq!(attribute(rpc, "rpc.method").as_deref(), Some("Score"));
    assert_eq!(attribute(rpc, "request_id").as_deref(), Some("req-traced"));
    assert_eq!(attribute(rpc, "model_name").as_deref(), Some("churn"));
    assert_eq!(attribute(rpc, "model_version").as_deref(), Some("v1"));
    let kind = if reply.decision.unwrap().best.is_some() {
        "take_action"
    } else {
        "no_action"
    };
    assert_eq!(attribute(rpc, "decision_kind").as_deref(), Some(kind));
    for child in ["assess", "audit"] {
        let c = spans
            .iter()
            .find(|s| s.name == child)
            .unwrap_or_else(|| panic!("no {child} span among {names:?}"));
        assert_eq!(c.trace_id, rpc.trace_id, "{child}");
        assert_eq!(
            c.parent_span_id, rpc.span_id,
            "{child} is a child of the call's span"
        );
    }
    let meta = spans
        .iter()
        .find(|s| s.name == "inference.GRPCInferenceService/ModelMetadata")
        .unwrap_or_else(|| panic!("no ModelMetadata span among {names:?}"));
    assert!(
        meta.parent_span_id.is_empty(),
        "a call without traceparent is a root"
    );
    assert_ne!(meta.trace_id, rpc.trace_id);
    assert_eq!(
        collector.service_names.lock().unwrap()[0],
        "bankscore-under-test"
    );
    // Health checks are not traced, and no attribute holds the customer id in clear.
    assert!(
        !names.iter().any(|n| n.contains("grpc.health")),
        "{names:?}"
    );
    let id = customer(5).customer_id;
    for s in &spans {
        for kv in &s.attributes {
            assert!(
                !format!("{:?}", kv.value).contains(&id),
                "{}: {kv:?}",
                s.name
            );
        }
    }
    // The audit record names the trace.
    let text = std::fs::read_to_string(&audit).unwrap();
    let record: bankscore::audit::AuditEntry = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(record.trace_id.as_deref(), Some(TRACE_ID));
}
