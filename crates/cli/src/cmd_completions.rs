//! `usb-offload completions SHELL` and `usb-offload man`: generated from the clap
//! definitions, so they cannot drift from the options the binary accepts.

use clap::CommandFactory;
use clap_complete::Shell;

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  usb-offload completions bash > /etc/bash_completion.d/usb-offload\n  \
usb-offload completions zsh > ~/.zfunc/_usb-offload\n  usb-offload completions fish > ~/.config/fish/completions/usb-offload.fish"
)]
pub struct Args {
    /// The shell: bash, zsh, fish, elvish, powershell.
    pub shell: Shell,
}

#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  usb-offload man > usb-offload.1 && man ./usb-offload.1\n  usb-offload man check > usb-offload-check.1"
)]
pub struct ManArgs {
    /// A subcommand (check, replay, …): its own page, usb-offload-SUBCOMMAND(1).
    pub subcommand: Option<String>,
}

pub fn run(a: Args) -> u8 {
    let mut cmd = crate::Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "usb-offload", &mut std::io::stdout());
    crate::EXIT_OK
}

pub fn man(a: ManArgs) -> u8 {
    let mut cmd = crate::Cli::command();
    cmd.build();
    let page = match &a.subcommand {
        None => cmd,
        Some(name) => match cmd.find_subcommand(name) {
            Some(sub) => {
                // clap names are 'static; the process prints one page and exits.
                let full: &'static str =
                    Box::leak(format!("usb-offload-{}", sub.get_name()).into_boxed_str());
                sub.clone().name(full)
            }
            None => {
                let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
                eprintln!(
                    "error: no subcommand `{name}`; the subcommands are: {}",
                    names.join(", ")
                );
                return crate::EXIT_USAGE;
            }
        },
    };
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(page).render(&mut out) {
        eprintln!("error: {e}");
        return crate::EXIT_USAGE;
    }
    use std::io::Write;
    let _ = std::io::stdout().write_all(&out);
    crate::EXIT_OK
}
