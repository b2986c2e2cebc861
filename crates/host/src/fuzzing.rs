//! Entry points for the fuzz targets in `fuzz/` and for the tests that replay their corpora.
//! Each takes arbitrary bytes and must neither panic nor hang; where the function has a
//! promise beyond that (a path that is accepted stays below the base path), it is asserted.

use crate::config::Config;
use std::time::Duration;
use tollgate_runtime::Limits;
use tollgate_runtime::http::{Url, join_checked, retry_after, wait_within};

/// The config file parser and its checks: any text is a config or a list of problems.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = toml::from_str::<Config>(text) else {
        return;
    };
    let _ = config.problems();
    let _ = config.warnings();
    let _ = config.runtime.limits.apply(Limits::default());
    for connection in config.connections.values() {
        let _ = config.limits(connection);
    }
    let _ = crate::config::line_of(text, "connections.a.auth.token_env");
}

/// `Retry-After` and Jira's rate-limit headers: lines of `name: value`. Whatever they say, the
/// wait is a finite number of seconds of at least 0, and never longer than the maximum.
pub fn rate_limit_headers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let headers: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    if let Some(seconds) = retry_after(&headers, 1_795_775_400.0) {
        assert!(seconds.is_finite() && seconds >= 0.0, "{seconds}");
        let max = Duration::from_secs(60);
        assert!(wait_within(seconds, max).is_none_or(|w| w <= max));
    }
}

/// The path check: a path the host accepts lands below the connection's base path.
pub fn path_check(data: &[u8]) {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let base = Url::parse("https://jira.example.com/jira/").expect("a URL");
    if let Ok(url) = join_checked(&base, path) {
        assert!(url.path().starts_with("/jira/"), "{path:?} -> {url}");
        assert_eq!(url.origin(), base.origin(), "{path:?} -> {url}");
    }
}

#[cfg(test)]
mod tests {
    /// Every input in the fuzz corpora and every past finding still passes.
    #[test]
    fn the_corpora_and_past_findings_replay() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz");
        for (target, run) in [
            ("config", super::config as fn(&[u8])),
            ("rate_limit_headers", super::rate_limit_headers),
            ("path_check", super::path_check),
        ] {
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
