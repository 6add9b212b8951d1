//! Model bundles on disk and the models being served: the bundle format, checksums, loading
//! with validation (each file, then across files), the registry of versions (champion,
//! challenger), the deployment file, shadow-comparison counters, and hot reload (atomic swap,
//! directory watching).

mod bundle;
pub mod checksum;
mod consistency;
mod deployment;
mod error;
mod fingerprint;
pub mod format;
mod registry;
mod shadow;
mod store;
mod watch;
mod write;

pub use bundle::{load_bundle, LoadedModel, ModelId};
pub use deployment::{Deployment, DeploymentError, DEPLOYMENT_FILE};
pub use error::{BundleError, BundleProblem, FeatureMismatch};
pub use fingerprint::{fingerprint, Fingerprint};
pub use registry::{
    compare_versions, LoadProblem, LoadReport, ModelRegistry, RegistryError, Rejected,
    UnknownVersion,
};
pub use shadow::{ShadowStats, ShadowSummary};
pub use store::{ModelStore, ReloadOutcome, ReloadTrigger};
pub use watch::watch;
pub use write::{
    reseal_bundle, write_bundle, write_bundle_with_uplift, BundleContents, Resealed, WriteError,
};
