//! `usb-offload qmi decode|encode`: the uaudio QMI wire format, readable.

use qmi::DecodeMode;
use std::io::Read;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: QmiCmd,
}

#[derive(clap::Subcommand)]
pub enum QmiCmd {
    /// Decode a QMI message given as hex (spaces, `|` and `0x` are ignored).
    #[command(
        after_help = "Example:\n  usb-offload qmi decode 00 01 00 01 00 0B 00 01 01 00 01 02 04 00 00 00 01 00"
    )]
    Decode {
        /// The bytes, as one or more hex strings.
        #[arg(required = true)]
        hex: Vec<String>,
        /// Accept exactly what the kernel's decoder accepts (lenient).
        #[arg(long)]
        kernel: bool,
        /// JSON output (the input format of `qmi encode`).
        #[arg(long)]
        json: bool,
    },
    /// Encode a message from JSON (as printed by `qmi decode --json`) and print hex.
    #[command(
        after_help = "Example:\n  echo '{\"type\":\"request\",\"txn\":1,\"enable\":1,\"token\":{\"card\":1,\"pcm\":0,\"direction\":\"playback\"}}' | usb-offload qmi encode -"
    )]
    Encode {
        /// The JSON text, or `-` to read it from standard input.
        json: String,
    },
}

pub fn run(a: Args) -> u8 {
    let out = match a.cmd {
        QmiCmd::Decode { hex, kernel, json } => {
            let mode = if kernel {
                DecodeMode::Kernel
            } else {
                DecodeMode::Strict
            };
            qmi::cli::decode_cmd(&hex, mode, json)
        }
        QmiCmd::Encode { json } => {
            let text = if json == "-" {
                let mut s = String::new();
                if let Err(e) = std::io::stdin().read_to_string(&mut s) {
                    eprintln!("error: cannot read standard input: {e}");
                    return crate::EXIT_USAGE;
                }
                s
            } else {
                json
            };
            qmi::cli::encode_cmd(&text)
        }
    };
    match out {
        Ok(s) => {
            println!("{}", s.trim_end());
            crate::EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            crate::EXIT_USAGE
        }
    }
}
