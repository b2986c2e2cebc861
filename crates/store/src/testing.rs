//! For tests of this crate and of the workspace: the PostgreSQL server the tests may use, and
//! fresh databases on it. Not part of the store's interface.

use crate::redact_url;

/// The server the Postgres half runs on, if any.
pub fn postgres_server() -> Option<String> {
    match std::env::var("TOLLGATE_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("TOLLGATE_SKIP_POSTGRES").is_some() => {
            eprintln!("TOLLGATE_SKIP_POSTGRES is set: what needs PostgreSQL did not run on it");
            None
        }
        _ => panic!(
            "this test runs on PostgreSQL: run scripts/test (it starts a throwaway \
             server), or set TOLLGATE_TEST_POSTGRES=postgres://USER@HOST:PORT/postgres, or \
             TOLLGATE_SKIP_POSTGRES=1 to leave Postgres out knowingly"
        ),
    }
}

/// A new, empty database on the test server, named after the test; its URL.
pub fn fresh_postgres_database(server: &str, test: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "tollgate_test_{}_{}_{}",
        test.chars()
            .filter(char::is_ascii_alphanumeric)
            .take(20)
            .collect::<String>()
            .to_lowercase(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    // Whatever runtime the test runs on, the driver's own may not nest in it.
    crate::postgres::blocking(|| {
        let mut admin = postgres::Client::connect(server, postgres::NoTls)
            .unwrap_or_else(|e| panic!("TOLLGATE_TEST_POSTGRES ({}): {e}", redact_url(server)));
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
    });
    // Back to a URL: the server's with the database replaced.
    match server.rsplit_once('/') {
        Some((base, rest)) => {
            let query = rest
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("{base}/{name}{query}")
        }
        None => panic!("TOLLGATE_TEST_POSTGRES is not a URL"),
    }
}

/// A fresh database for `test` on the test server; `None` when Postgres is skipped knowingly.
pub fn postgres_database(test: &str) -> Option<String> {
    postgres_server().map(|server| fresh_postgres_database(&server, test))
}
