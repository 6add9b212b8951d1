//! Compiles `proto/` with protox (pure Rust, no system `protoc`) and keeps the
//! encoded descriptor set for gRPC server reflection (`bankscore.v1` and the Open Inference
//! Protocol's `inference`); pbjson-build adds the proto3 JSON mapping.
use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(
        [
            "bankscore/v1/scoring.proto",
            "bankscore/v1/admin.proto",
            "bankscore/v1/batch.proto",
            "bankscore/v1/outcomes.proto",
            "inference/grpc_predict_v2.proto",
        ],
        ["proto"],
    )?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptors = fds.encode_to_vec();
    std::fs::write(out_dir.join("bankscore_descriptor.bin"), &descriptors)?;
    tonic_prost_build::configure().compile_fds(fds)?;
    // serde for every message, in the proto3 JSON mapping (what `bankscore call` prints).
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)?
        .build(&[".bankscore"])?;
    Ok(())
}
