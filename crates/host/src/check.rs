//! Checks: run the rule pack over the store and keep the findings' history.

use crate::config::Config;
use crate::error::Error;
use tollgate_dmo::rules::portfolio::DataIssue;
use tollgate_dmo::rules::{Context, DEFAULT_PACK, Portfolio, RulePack, evaluate_by_rule};
use tollgate_store::{FindingChanges, Store, StoredFinding};

/// What a check found.
#[derive(Debug, serde::Serialize)]
pub struct CheckOutcome {
    /// The date the rules were evaluated for.
    pub as_of: String,
    /// The rule pack's name.
    pub pack: String,
    /// Open findings, worst first.
    pub findings: Vec<StoredFinding>,
    /// What changed since the last check.
    pub changes: FindingChanges,
}

/// The configured rule pack (`[checks] rule_pack`), or the default one.
pub fn rule_pack(config: &Config) -> Result<RulePack, Error> {
    let (text, origin) = match &config.checks.rule_pack {
        Some(path) => {
            let path = config.resolve(path);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Error::usage(anyhow::anyhow!(
                    "cannot read the rule pack {} (checks.rule_pack): {e}",
                    path.display()
                ))
            })?;
            (text, path.display().to_string())
        }
        None => (DEFAULT_PACK.to_string(), "the default pack".to_string()),
    };
    RulePack::from_toml(&text).map_err(|e| Error::usage(anyhow::anyhow!("{origin}: {e}")))
}

/// The store's current model (deleted records left out) and its data issues, as the rules see
/// them.
pub fn portfolio(store: &dyn Store) -> Result<Portfolio, Error> {
    read_portfolio(store, None)
}

/// [`portfolio`] keeping only the time logged from the first to the last of `days` (day
/// numbers, both included): for a reader that counts no other time (the steering pack).
pub fn portfolio_logged_within(store: &dyn Store, days: (i64, i64)) -> Result<Portfolio, Error> {
    read_portfolio(store, Some(days))
}

fn read_portfolio(store: &dyn Store, days: Option<(i64, i64)>) -> Result<Portfolio, Error> {
    let issues = store
        .current_diagnostics()?
        .into_iter()
        .map(|(connection, d)| DataIssue {
            connection,
            severity: d.severity,
            code: d.code,
            message: d.message,
            location: d.location,
        })
        .collect();
    // Record by record: the store's records are never all in memory beside the portfolio.
    // In whatever order the store reads fastest (SQLite: the time entries in the table's
    // order), the same from one read of an unchanged store to the next. The rules fold the
    // time entries into totals; what the order could change is the last binary digit of a
    // floating-point sum (a ratio in a finding's evidence, say; messages and reports round
    // it away), and the same store gives the same digit each time.
    let mut portfolio = Portfolio::start(issues);
    if let Some((first, last)) = days {
        portfolio.time_entries.keep_only_days(first, last);
    }
    for kind in tollgate_dmo::model::EntityKind::ALL {
        if kind == tollgate_dmo::model::EntityKind::TimeEntry {
            // A million of them in a large store: by what the store keeps of each for this.
            store.each_time_entry(&mut portfolio.time_entries.by_number())?;
            continue;
        }
        store.each_stored_in_any_order(kind, &mut |connection, external_id, text| {
            portfolio.add_stored(kind, connection, external_id, text)
        })?;
    }
    Ok(portfolio.finish())
}

/// Evaluate the pack over the store as of `as_of` (YYYY-MM-DD) and record the findings.
pub fn run_checks(
    config: &Config,
    store: &mut dyn Store,
    as_of: &str,
) -> Result<CheckOutcome, Error> {
    let (pack, changes) = record_checks(config, store, as_of)?;
    let mut open = store.findings(false)?;
    open.sort_by(|a, b| {
        b.finding
            .severity
            .cmp(&a.finding.severity)
            .then_with(|| a.finding.rule_id.cmp(&b.finding.rule_id))
            .then_with(|| a.finding.subject.cmp(&b.finding.subject))
    });
    Ok(CheckOutcome {
        as_of: as_of.to_string(),
        pack,
        findings: open,
        changes,
    })
}

/// [`run_checks`] without reading the findings back: the pack's name and what changed, for
/// a caller that only counts them (the daemon's check step; at 10,000 initiatives the
/// 44,000 open findings whole are 28 MB).
pub fn record_checks(
    config: &Config,
    store: &mut dyn Store,
    as_of: &str,
) -> Result<(String, FindingChanges), Error> {
    let pack = rule_pack(config)?;
    let portfolio = portfolio(store)?;
    // Each rule's findings are written as the rule is done, not all held beside the portfolio
    // (at 10,000 initiatives, 44,000 findings took a third of the check's memory).
    let at = crate::clock::now();
    let changes = evaluate_by_rule(
        &pack,
        &portfolio,
        &Context {
            today: as_of.to_string(),
        },
        |findings| store.record_finding_batches(findings, &at),
    )?;
    // The portfolio is let go before the caller reads the findings back (with their history).
    drop(portfolio);
    Ok((pack.name, changes))
}

/// The pack as Markdown: the rule catalogue of docs/rules.md.
pub fn pack_markdown(pack: &RulePack) -> String {
    let mut out = format!(
        "# Rules\n\nThe checks of the rule pack \"{}\" (`config/rules.toml`). This page is written from the pack by\n`tollgate rules --format md`; thresholds are the pack's and can be changed there.\nSeverity scale: info < warning < error < blocker (a blocker contradicts a decision already taken).\n\n| rule | title | severity | applies to | thresholds |\n|---|---|---|---|---|\n",
        pack.name
    );
    for r in &pack.rules {
        let a = &r.applies_to;
        let mut applies = Vec::new();
        if !a.demand_types.is_empty() {
            applies.push(a.demand_types.join(", "));
        }
        if !a.development_types.is_empty() {
            applies.push(a.development_types.join(", "));
        }
        if !a.gates.is_empty() {
            applies.push(format!("past {}", a.gates.join("/")));
        }
        let params: Vec<String> = r
            .params
            .iter()
            .map(|(k, v)| format!("`{k}` = {v}"))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.id,
            r.title,
            r.severity.as_str(),
            if applies.is_empty() {
                "all".to_string()
            } else {
                applies.join("; ")
            },
            if params.is_empty() {
                "–".to_string()
            } else {
                params.join(", ")
            }
        ));
    }
    out.push('\n');
    for r in &pack.rules {
        out.push_str(&format!("## {} {}\n\n{}\n\n", r.id, r.title, r.description));
        if let Some(fix) = &r.fix {
            out.push_str(&format!("How to fix: {fix}\n\n"));
        }
    }
    out
}
