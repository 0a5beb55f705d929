//! placeholder, replaced by the real module.

/// Command-line arguments.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Run the command.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("predict: not implemented yet")
}
