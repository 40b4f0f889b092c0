//! Terminal conventions shared by the subcommands: `--color`, `--quiet`, and whether
//! progress goes to a bar (a terminal) or to one line per finished search (CI logs).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--color auto|always|never`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

// Set once from the command line before any output; read by every printer. A
// global, because colour and quietness are properties of the whole invocation.
static COLOR: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);

/// Applies the global options.
pub fn init(color: ColorChoice, quiet: bool) {
    let on = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    COLOR.store(on, Ordering::Relaxed);
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A bar with ETA on standard error (a terminal).
    Bar,
    /// One line per finished search on standard error (a log).
    Lines,
    /// Nothing (`--quiet`).
    Quiet,
}

/// The progress mode of this invocation: nothing with `--quiet`, a bar when standard
/// error is a terminal, one line per finished search otherwise.
pub fn progress() -> Progress {
    if quiet() {
        Progress::Quiet
    } else if std::io::stderr().is_terminal() {
        Progress::Bar
    } else {
        Progress::Lines
    }
}

fn paint(code: &str, s: &str) -> String {
    if COLOR.load(Ordering::Relaxed) {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

pub fn red(s: &str) -> String {
    paint("1;31", s)
}

pub fn green(s: &str) -> String {
    paint("32", s)
}

pub fn yellow(s: &str) -> String {
    paint("33", s)
}

pub fn bold(s: &str) -> String {
    paint("1", s)
}

/// A verdict word in its colour, padded to `width` before colouring so columns
/// stay aligned.
pub fn verdict(word: &str, width: usize) -> String {
    let padded = format!("{word:<width$}");
    match word.split_whitespace().next() {
        Some("FAIL") => red(&padded),
        Some("pass") => green(&padded),
        Some("incomplete") => yellow(&padded),
        _ => padded,
    }
}

/// A bar over `len` items of a subcommand's own loop (hidden unless on a terminal).
pub fn bar(len: u64, unit: &str) -> indicatif::ProgressBar {
    if progress() != Progress::Bar {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(len);
    let template = format!(
        "{{spinner}} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {unit}, ETA {{eta}}  {{msg}}"
    );
    b.set_style(indicatif::ProgressStyle::with_template(&template).expect("template"));
    b.enable_steady_tick(std::time::Duration::from_millis(200));
    b
}

/// A progress line for logs (standard error is not a terminal, no `--quiet`).
pub fn log(line: &str) {
    if progress() == Progress::Lines {
        eprintln!("{line}");
    }
}
