//! One entry point that explores a scenario body against a design with the checker,
//! the way `loom::model` runs a closure.

use super::{kit, Scenario};
use crate::invariants::runtime_check_property;
use crate::system::{Config, Sys};
use crate::Design;
use std::collections::BTreeSet;

/// What a search of one body found: the checker's report plus the questions a test
/// asks of it.
#[derive(Clone, Debug)]
pub struct Checked {
    pub report: explore::Report,
}

impl Checked {
    /// The property ids of the findings (e.g. `LK-3`), sorted.
    pub fn properties(&self) -> BTreeSet<String> {
        self.report
            .findings
            .iter()
            .map(|f| f.finding.property.clone())
            .collect()
    }

    /// The search covered the whole space.
    pub fn exhaustive(&self) -> bool {
        self.report.exhaustive()
    }

    /// Panics unless the findings are exactly the properties `want`, listing each
    /// finding with its replay token.
    pub fn assert_properties(&self, want: &[&str]) {
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        let got = self.properties();
        if got != want {
            let list: Vec<String> = self
                .report
                .findings
                .iter()
                .map(|f| format!("  {} {}: {}", f.id, f.token, f.finding.summary))
                .collect();
            panic!(
                "{}: properties {got:?}, expected {want:?}\n{}",
                self.report.program,
                list.join("\n")
            );
        }
    }
}

/// Explores `body` exhaustively (DPOR) on the booted system of `cfg` (see
/// [`kit::setup`]); every execution runs `body` as its main task.
pub fn check(cfg: Config, body: impl Fn(&Sys) + Send + Sync + 'static) -> Checked {
    check_with(cfg, &explore::Config::default(), body)
}

/// [`check`] with the checker's bounds and strategy given.
pub fn check_with(
    cfg: Config,
    search: &explore::Config,
    body: impl Fn(&Sys) + Send + Sync + 'static,
) -> Checked {
    let name = format!("{}/custom", cfg.design.name());
    let program = explore::Program::new(name, move || kit::run(cfg.clone(), &body))
        .with_property_ids(runtime_check_property);
    Checked {
        report: explore::explore(&program, search),
    }
}

impl Scenario {
    /// The checker program of this scenario under `design` (named `design/scenario`,
    /// the name replay tokens carry).
    pub fn program(&self, design: Design) -> explore::Program {
        let run = self.run;
        explore::Program::new(format!("{}/{}", design.name(), self.name), move || {
            run(design)
        })
        .with_property_ids(runtime_check_property)
    }

    /// The default search of this scenario: exhaustive DPOR within its declared
    /// bound (the one place a scenario's bound becomes a search limit).
    pub fn search_config(&self) -> explore::Config {
        explore::Config {
            max_executions: self.max_executions,
            ..explore::Config::default()
        }
    }

    /// Explores the scenario under `design` within its declared bound.
    pub fn check(&self, design: Design) -> Checked {
        Checked {
            report: explore::explore(&self.program(design), &self.search_config()),
        }
    }

    /// The properties the scenario is expected to exhibit under `design`.
    pub fn expected(&self, design: Design) -> BTreeSet<String> {
        self.expect
            .of(design)
            .into_iter()
            .map(str::to_string)
            .collect()
    }
}
