//! `usb-offload scenarios`: the scenarios `check` runs.

#[derive(clap::Args)]
pub struct Args {
    /// One JSON object per scenario.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> u8 {
    let all = model::all_scenarios();
    if a.json {
        for s in &all {
            let v = serde_json::json!({
                "name": s.name,
                "description": s.description,
                "bound": s.bound,
            });
            println!("{v}");
        }
        return crate::EXIT_OK;
    }
    let w = all.iter().map(|s| s.name.len()).max().unwrap_or(8);
    for s in &all {
        let bound = s
            .bound
            .map(|b| format!(" [bounded: {b}]"))
            .unwrap_or_default();
        println!("{:<w$}  {}{bound}", s.name, s.description);
    }
    crate::EXIT_OK
}
