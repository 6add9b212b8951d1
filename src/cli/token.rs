//! `bankscore token`: a new bearer token and the settings entry that accepts it.

use clap::Args;

use bankscore::service::auth::{new_token, Role};

#[derive(Args)]
pub struct TokenArgs {
    /// Who will hold the token (shown in logs when a call is refused).
    #[arg(long)]
    name: String,
    /// What it may do: scorer, admin (repeat for both).
    #[arg(long = "role", required = true, value_parser = super::named::<Role>(&["scorer", "admin"]))]
    roles: Vec<Role>,
}

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    let (token, entry) = new_token(&args.name, &args.roles);
    eprintln!("The token, for the caller only (bankscore keeps only its hash):");
    println!("{token}");
    eprintln!("\nAdd to the server's settings:\n");
    eprintln!("{entry}");
    Ok(())
}
