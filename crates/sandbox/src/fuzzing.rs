//! Entry points for the sandbox's fuzz targets (`fuzz/fuzz_targets/jql.rs`, `wiql.rs`) and
//! the test that replays their corpora. The query languages are what a client sends the
//! sandbox, so any text must give an answer or a 400, never a panic or a hang.

use crate::ado::data::AdoDataset;
use crate::ado::wiql;
use crate::jira::data::{Dataset, Flavour};
use std::sync::OnceLock;

fn jira_demo() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(Dataset::demo)
}

fn ado_demo() -> &'static AdoDataset {
    static DATA: OnceLock<AdoDataset> = OnceLock::new();
    DATA.get_or_init(AdoDataset::demo)
}

/// JQL on both faces: parsed, and when it parses, run and sorted over the demo site.
pub fn jql(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let site = jira_demo();
    for flavour in [Flavour::Cloud, Flavour::DataCenter] {
        if let Ok(q) = crate::jira::jql::parse(text, flavour, 1_795_775_400_000) {
            let mut hits: Vec<_> = site.issues.iter().filter(|i| q.matches(i, site)).collect();
            q.sort(&mut hits, site);
        }
    }
}

/// WIQL: parsed, and when it parses, run over the demo organisation.
pub fn wiql(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(q) = wiql::parse(text) else {
        return;
    };
    let d = ado_demo();
    let ctx = wiql::Context {
        project: Some("Portfolio"),
        me: d.bot(),
        now: 1_795_775_400_000,
        time_precision: true,
    };
    let _ = wiql::run(&q, d, &ctx, Some(50));
}

#[cfg(test)]
mod tests {
    /// Every input in the fuzz corpora and every past finding still passes.
    #[test]
    fn the_corpora_and_past_findings_replay() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz");
        for (target, run) in [("jql", super::jql as fn(&[u8])), ("wiql", super::wiql)] {
            let mut n = 0;
            for dir in ["corpus", "regressions"] {
                let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}/{target}")) else {
                    continue;
                };
                for entry in entries.flatten() {
                    run(&std::fs::read(entry.path()).unwrap());
                    n += 1;
                }
            }
            assert!(n > 0, "the corpus is in fuzz/corpus/{target}");
        }
    }
}
