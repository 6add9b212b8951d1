//! Model bundles on disk: the format, checksums, loading with validation, and the registry of
//! loaded versions.

mod bundle;
pub mod checksum;
pub mod format;
mod registry;

pub use bundle::{load_bundle, write_bundle, BundleContents, BundleError, LoadedModel, ModelId};
pub use registry::{compare_versions, LoadReport, ModelRegistry, RegistryError, UnknownVersion};
