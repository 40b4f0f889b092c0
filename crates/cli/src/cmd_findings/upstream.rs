//! `findings --upstream`: docs/upstream-report.md from its template.

use super::Pair;

pub fn render(_pairs: &[Pair]) -> String {
    String::new()
}
