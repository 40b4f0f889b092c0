//! `usb-offload bench` (being written).

#[derive(clap::Args)]
pub struct Args {
    /// What to benchmark.
    pub what: String,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_a: Args) -> u8 {
    crate::EXIT_OK
}
