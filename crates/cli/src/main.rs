//! `usb-offload`: the Linux USB audio offload stack as executable Rust, checked.

/// The exit codes, for `--help` (a macro, so `concat!` can use it).
macro_rules! exit_codes_help {
    () => {
        "Exit codes:\n  \
0  no finding, and every search covered its whole space (or every check passed)\n  \
1  findings (or a failed check); 1 takes precedence over 3\n  \
2  usage error: a bad option or number, an unknown design or scenario, a damaged replay token, undecodable QMI bytes\n  \
3  no finding, but some search was bounded (verdict `incomplete`): random or pct strategy, --max-executions, \
--max-time, executions cut by --max-steps, or a scenario's declared bound"
    };
}

mod args;
mod cmd_bench;
mod cmd_bench_check;
mod cmd_check;
mod cmd_completions;
mod cmd_explain;
mod cmd_findings;
mod cmd_locks;
mod cmd_merge;
mod cmd_qmi;
mod cmd_replay;
mod cmd_scenarios;
mod cmd_selftest;
mod diagram;
mod diagram_svg;
mod html;
mod live;
mod properties;
mod shard_plan;
mod suite;
mod summary;
mod svg;
mod term;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit code: every check passed.
pub const EXIT_OK: u8 = 0;
/// Exit code: a finding or a failed check.
pub const EXIT_FINDING: u8 = 1;
/// Exit code: usage error (bad arguments, bad token, bad input).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: no finding, but some search was bounded (verdict `incomplete`).
pub const EXIT_INCOMPLETE: u8 = 3;

#[derive(Parser)]
#[command(
    name = "usb-offload",
    version,
    about = "The Linux USB audio offload stack (USB core PM, xHCI sideband, Qualcomm QMI offload) as executable Rust, with a deterministic concurrency checker",
    long_about = "usb-offload runs a model of the Linux USB audio offload stack under a controlled \
scheduler and explores the interleavings of its kernel paths. It reports deadlocks, lock-order \
cycles (lockdep style), sleeping in atomic context, invariant violations and leaks, each with a \
replayable counterexample.\n\nStart with `usb-offload check` (all designs × all scenarios), then \
`usb-offload replay TOKEN` on a counterexample.",
    after_help = exit_codes_help!()
)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// Colour verdicts and findings: auto (when standard output is a terminal and NO_COLOR is unset), always, never.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    color: term::ColorChoice,
    /// No progress on standard error (results and errors still print).
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Check designs × scenarios: verdict matrix, findings, counterexamples, HTML report (the main job).
    Check(cmd_check::Args),
    /// List the scenarios `check` runs.
    Scenarios(cmd_scenarios::Args),
    /// Re-run one counterexample from its replay token, step by step (text, JSON, SVG or HTML).
    Replay(cmd_replay::Args),
    /// One finding of `check` by its id (DESIGN/SCENARIO/PROPERTY#N), with its counterexample.
    Explain(cmd_explain::Args),
    /// The findings of a `check --json` run grouped by explained cause (docs/findings.md, docs/upstream-report.md).
    Findings(cmd_findings::Args),
    /// Combine the `check --shard K/N --json` outputs of all N shards into the lines one unsharded `check --json` prints.
    Merge(cmd_merge::Args),
    /// The lock-order graph observed over all scenarios of a design (text or DOT),
    /// checked against the declared hierarchy.
    #[command(
        after_long_help = "For each design: the observed graph as levels, every edge (held → acquired) with the first task and call stack that took it, the edges that go against the hierarchy declared in crates/model/src/lock_order.rs (the one the typed design's types enforce), and the lock-order cycles.\n\nExit codes:\n  0  no cycle, and every observed edge is ordered by the declaration\n  1  a cycle, or an edge against the declaration (or naming an undeclared lock class)\n  2  usage error\n\nExamples:\n  usb-offload locks --design typed\n  usb-offload locks --design v1-caller-locks --dot | dot -Tsvg > v1-locks.svg"
    )]
    Locks(cmd_locks::Args),
    /// Check the checker: classic small programs, DPOR against brute force.
    Selftest(cmd_selftest::Args),
    /// Decode and encode QMI uaudio messages (the DSP ↔ offload service wire format).
    Qmi(cmd_qmi::Args),
    /// Benchmarks: `bench explore` (scheduler and DPOR, side by side with shuttle), `bench check` (the model suite), `bench live` (round trips over the live socket).
    Bench(cmd_bench::Args),
    /// Serve the QMI uaudio service of the stack running on OS threads, on a Unix datagram socket (live mode).
    Serve(live::cmd_serve::Args),
    /// A DSP's QMI client of a running `serve`: enable/disable streams, answer disconnect indications.
    Dsp(live::cmd_dsp::Args),
    /// Inject a USB or PM event (unplug, reset, system sleep, ...) into a running `serve`.
    Ctl(live::cmd_ctl::Args),
    /// Random storms of events, DSP behaviours and faults on real threads, with the hung-task watchdog.
    Stress(live::cmd_stress::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(cmd_completions::Args),
    /// Print the man page (roff), generated from these definitions.
    Man(cmd_completions::ManArgs),
}

/// A reader that closed the pipe early (`usb-offload check | head`) is not an error
/// of ours: leave quietly with the shell's code for SIGPIPE, as coreutils do, instead
/// of a panic backtrace. Installed before the checker's hook, which chains to it.
fn exit_quietly_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info)
    }));
}

fn main() -> ExitCode {
    exit_quietly_on_closed_stdout();
    let cli = Cli::parse();
    term::init(cli.color, cli.quiet);
    let code = match cli.cmd {
        Cmd::Check(a) => cmd_check::run(a),
        Cmd::Scenarios(a) => cmd_scenarios::run(a),
        Cmd::Replay(a) => cmd_replay::run(a),
        Cmd::Explain(a) => cmd_explain::run(a),
        Cmd::Findings(a) => cmd_findings::run(a),
        Cmd::Locks(a) => cmd_locks::run(a),
        Cmd::Merge(a) => cmd_merge::run(a),
        Cmd::Selftest(a) => cmd_selftest::run(a),
        Cmd::Bench(a) => cmd_bench::run(a),
        Cmd::Qmi(a) => cmd_qmi::run(a),
        Cmd::Serve(a) => live::cmd_serve::run(a),
        Cmd::Dsp(a) => live::cmd_dsp::run(a),
        Cmd::Ctl(a) => live::cmd_ctl::run(a),
        Cmd::Stress(a) => live::cmd_stress::run(a),
        Cmd::Completions(a) => cmd_completions::run(a),
        Cmd::Man(a) => cmd_completions::man(a),
    };
    ExitCode::from(code)
}
