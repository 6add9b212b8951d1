//! Bundle upkeep: `bankscore validate`, `bankscore reseal` and `bankscore deploy`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use bankscore::model_store::{load_bundle, reseal_bundle, Deployment, DEPLOYMENT_FILE};

#[derive(Args)]
pub struct BundleArg {
    /// The bundle directory, models/<name>/<version>.
    bundle: PathBuf,
}

pub fn validate(args: BundleArg) -> anyhow::Result<()> {
    let m = load_bundle(&args.bundle)?;
    println!(
        "ok: {} version {} (checksum {}): every file matches its checksum; {} features, \
         {} actions, value and tier policy in range; {} golden examples reproduce within {:e}",
        m.id.name,
        m.id.version,
        m.id.checksum,
        m.scoring.churn.features().len(),
        m.scoring.actions.actions.len(),
        m.golden.examples.len(),
        m.golden.tolerance
    );
    Ok(())
}

pub fn reseal(args: BundleArg) -> anyhow::Result<()> {
    let bundle = args.bundle;
    let r = reseal_bundle(&bundle)?;
    println!(
        "resealed {}: checksums.sha256 now lists {}",
        bundle.display(),
        r.sealed.join(", ")
    );
    for other in &r.left_out {
        println!("not listed (not a bundle file): {other}");
    }
    println!(
        "the checksums say nothing about the content: check it with `bankscore validate {}`",
        bundle.display()
    );
    Ok(())
}

#[derive(Args)]
pub struct DeployArgs {
    #[command(flatten)]
    models: super::ModelsDir,
    /// Model name (directory under the models directory).
    #[arg(long)]
    model: String,
    /// Version to make champion (live).
    #[arg(long)]
    champion: Option<String>,
    /// Version to score in shadow.
    #[arg(long, conflicts_with = "no_challenger")]
    challenger: Option<String>,
    /// Stop shadow scoring.
    #[arg(long)]
    no_challenger: bool,
}

pub fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    let model_dir = args.models.models_dir.join(&args.model);
    anyhow::ensure!(
        model_dir.is_dir(),
        "{} is not a model directory",
        model_dir.display()
    );
    let mut d = Deployment::read(&model_dir).map_err(anyhow::Error::msg)?;
    for version in [&args.champion, &args.challenger].into_iter().flatten() {
        let m = load_bundle(&model_dir.join(version))
            .with_context(|| format!("version {version} cannot be deployed"))?;
        println!(
            "ok: {} version {} (checksum {})",
            m.id.name, m.id.version, m.id.checksum
        );
    }
    if let Some(c) = args.champion {
        d.champion = Some(c);
    }
    if args.no_challenger {
        d.challenger = None;
    } else if let Some(c) = args.challenger {
        d.challenger = Some(c);
    }
    d.write(&model_dir)?;
    println!(
        "{}: champion {}, challenger {} (a running server picks this up within seconds, or at once on SIGHUP)",
        model_dir.join(DEPLOYMENT_FILE).display(),
        d.champion.as_deref().unwrap_or("(newest valid version)"),
        d.challenger.as_deref().unwrap_or("(none)")
    );
    Ok(())
}
