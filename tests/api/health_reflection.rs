//! Standard gRPC health and server reflection (v1 and v1alpha), and graceful shutdown.

use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{health_check_response::ServingStatus, HealthCheckRequest};

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_reports_serving_for_the_scoring_and_outcome_services_and_the_server() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in [
        "bankscore.v1.ScoringService",
        "bankscore.v1.OutcomeService",
        "",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health check")
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "service `{service}`");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "nope.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn reflection_v1_lists_the_scoring_service_and_describes_its_four_rpcs() {
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        ServerReflectionRequest,
    };
    let app = spawn_app().await;
    let mut client = ServerReflectionClient::new(app.channel.clone());
    let ask = |m: MessageRequest| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(m),
    };
    let requests = vec![
        ask(MessageRequest::ListServices(String::new())),
        ask(MessageRequest::FileContainingSymbol(
            "bankscore.v1.ScoringService".into(),
        )),
    ];
    let mut replies = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        replies.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"bankscore.v1.ScoringService".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"bankscore.v1.OutcomeService".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
    let Some(MessageResponse::FileDescriptorResponse(files)) =
        replies.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a file descriptor");
    };
    let file = <prost_types::FileDescriptorProto as prost::Message>::decode(
        files.file_descriptor_proto[0].as_slice(),
    )
    .unwrap();
    let service = file
        .service
        .iter()
        .find(|s| s.name() == "ScoringService")
        .expect("service described");
    let mut methods: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
    methods.sort_unstable();
    assert_eq!(
        methods,
        [
            "ClassifyValueTier",
            "PredictChurn",
            "RecommendRetentionAction",
            "Score"
        ]
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn reflection_v1alpha_lists_the_scoring_service_for_older_clients() {
    use tonic_reflection::pb::v1alpha::{
        server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        ServerReflectionRequest,
    };
    let app = spawn_app().await;
    let mut client = ServerReflectionClient::new(app.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        replies.message().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    assert!(list
        .service
        .iter()
        .any(|s| s.name == "bankscore.v1.ScoringService"));
    app.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_lets_the_server_finish_cleanly_and_stop_accepting() {
    let app = spawn_app().await;
    let address = app.address;
    app.stop().await.expect("serve returns Ok after shutdown");
    let refused = tokio::net::TcpStream::connect(address).await;
    assert!(refused.is_err(), "the listener is closed after shutdown");
}
