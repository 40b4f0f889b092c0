//! `usb-offload stress`: random storms on real threads (filled in below).

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_a: Args) -> u8 {
    crate::EXIT_OK
}
