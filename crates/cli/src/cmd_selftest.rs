//! `usb-offload selftest` (being written).

#[derive(clap::Args)]
pub struct Args {
    /// JSON Lines, one object per program.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_a: Args) -> u8 {
    crate::EXIT_OK
}
