//! The `bankscore.v1.ModelAdminService` handlers: list versions and their state, reload.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::bulk::Bulk;
use super::pb::{self, model_admin_service_server::ModelAdminService};
use super::{convert, error};
use crate::model_store::{ModelStore, ReloadTrigger};

/// Model administration over a store.
#[derive(Debug)]
pub struct AdminApi {
    store: Arc<ModelStore>,
    bulk: Arc<Bulk>,
}

impl AdminApi {
    /// Administration of `store`, reporting `bulk`'s streams.
    pub fn new(store: Arc<ModelStore>, bulk: Arc<Bulk>) -> Self {
        Self { store, bulk }
    }
}

#[tonic::async_trait]
impl ModelAdminService for AdminApi {
    async fn list_models(
        &self,
        _request: Request<pb::ListModelsRequest>,
    ) -> Result<Response<pb::ListModelsResponse>, Status> {
        Ok(Response::new(convert::models_listing(
            &self.store,
            &self.bulk,
        )))
    }

    async fn reload(
        &self,
        _request: Request<pb::ReloadRequest>,
    ) -> Result<Response<pb::ReloadResponse>, Status> {
        let store = self.store.clone();
        let outcome = tokio::task::spawn_blocking(move || store.reload(ReloadTrigger::Admin))
            .await
            .map_err(|e| error::task_failed("the reload task", e))?;
        Ok(Response::new(pb::ReloadResponse {
            summary: Some(outcome.into()),
            models: Some(convert::models_listing(&self.store, &self.bulk)),
        }))
    }
}
