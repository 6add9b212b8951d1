//! Compiles `proto/` with protox (pure Rust, no system `protoc`) and keeps the
//! encoded descriptor set for gRPC server reflection.
use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(
        [
            "bankscore/v1/scoring.proto",
            "bankscore/v1/admin.proto",
            "bankscore/v1/batch.proto",
            "bankscore/v1/outcomes.proto",
        ],
        ["proto"],
    )?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("bankscore_descriptor.bin"),
        fds.encode_to_vec(),
    )?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
