//! `tollgate migrate`: copy a store to another (SQLite to PostgreSQL and back), table by table,
//! then prove the copy: the same rows in every table, by count and by checksum.

use crate::error::Error;
use anyhow::anyhow;
use sha2::Digest as _;
use tollgate_store::{Store, StoreError, TABLES, Table, Value, redact_url};

/// `tollgate migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The store to copy: `sqlite://PATH` (relative to the current directory; the file must
    /// exist) or `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`. `env:NAME` reads the URL
    /// from the environment variable NAME, so a password stays off the command line.
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The store to copy into, as `--from`; created and migrated when new. It must be empty.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Copy into a target that holds rows: they are deleted first.
    #[arg(long)]
    pub force: bool,
}

/// Rows written per transaction.
const BATCH: usize = 5_000;

/// A store URL given to flag `--FLAG`: as it is, or from the environment variable NAME when
/// given as `env:NAME` (so a password stays off the command line). `bench --store` too.
pub fn resolve(flag: &str, url: &str) -> Result<String, Error> {
    match url.strip_prefix("env:") {
        Some(name) => std::env::var(name).map_err(|_| {
            Error::usage(anyhow!(
                "--{flag} env:{name}: the environment variable {name} is not set"
            ))
        }),
        None => Ok(url.to_string()),
    }
}

fn open(flag: &str, url: &str, must_exist: bool) -> Result<Box<dyn Store>, Error> {
    if let Some(path) = url.strip_prefix("sqlite://")
        && must_exist
        && !std::path::Path::new(path).is_file()
    {
        return Err(Error::usage(anyhow!(
            "--{flag} {}: no such SQLite file",
            redact_url(url)
        )));
    }
    tollgate_store::open(url, &std::env::current_dir().unwrap_or_default()).map_err(|e| match e {
        StoreError::Url(_, message) => Error::usage(anyhow!("--{flag}: {message}")),
        other => Error::from(anyhow::Error::from(other).context(format!("--{flag}"))),
    })
}

/// Rows and SHA-256 of a table's rows, in key order.
fn fingerprint(store: &dyn Store, table: &Table) -> Result<(u64, String), StoreError> {
    let mut hash = sha2::Sha256::new();
    let mut rows = 0u64;
    store.dump_table(table, &mut |row| {
        rows += 1;
        hash.update(serde_json::to_vec(&row).expect("values serialise"));
        hash.update(b"\n");
        Ok(())
    })?;
    Ok((rows, hex::encode(hash.finalize())))
}

/// Run `tollgate migrate`.
pub fn run(args: &MigrateArgs) -> Result<(), Error> {
    let (from_url, to_url) = (resolve("from", &args.from)?, resolve("to", &args.to)?);
    if from_url == to_url {
        return Err(Error::usage(anyhow!(
            "--from and --to name the same store ({})",
            redact_url(&from_url)
        )));
    }
    let from = open("from", &from_url, true)?;
    let mut to = open("to", &to_url, false)?;
    let mut held = Vec::new();
    for table in TABLES {
        let (rows, _) = fingerprint(to.as_ref(), table)?;
        if rows > 0 {
            held.push(format!("{} {rows}", table.name));
        }
    }
    if !held.is_empty() {
        if !args.force {
            return Err(Error::usage(anyhow!(
                "the target store {} is not empty ({}); nothing was copied. Copy into an empty \
                 database, or add --force to delete its rows first",
                redact_url(&to_url),
                held.join(", ")
            )));
        }
        eprintln!(
            "--force: deleting the rows of {} ({})",
            redact_url(&to_url),
            held.join(", ")
        );
        to.clear()?;
    }
    eprintln!(
        "copying {} to {}",
        redact_url(&from_url),
        redact_url(&to_url)
    );
    for table in TABLES {
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH);
        let target = to.as_mut();
        from.dump_table(table, &mut |row| {
            batch.push(row);
            if batch.len() == BATCH {
                target.load_rows(table, &batch)?;
                batch.clear();
            }
            Ok(())
        })?;
        target.load_rows(table, &batch)?;
    }
    // The proof: every table read back from both sides, row by row.
    let mut rows_out = Vec::new();
    let mut mismatched = Vec::new();
    let mut total = 0u64;
    for table in TABLES {
        let (n_from, sum_from) = fingerprint(from.as_ref(), table)?;
        let (n_to, sum_to) = fingerprint(to.as_ref(), table)?;
        let same = n_from == n_to && sum_from == sum_to;
        if !same {
            mismatched.push(table.name);
        }
        total += n_from;
        rows_out.push([
            table.name.to_string(),
            n_from.to_string(),
            n_to.to_string(),
            sum_from[..16].to_string(),
            if same { "yes" } else { "NO" }.to_string(),
        ]);
    }
    super::print_table(
        &["table", "rows", "copied", "sha-256 (first 16)", "identical"],
        &rows_out,
    );
    if !mismatched.is_empty() {
        return Err(Error::runtime(anyhow!(
            "the copy differs from the source in {}; the source is untouched. Was something \
             writing to it during the copy? Stop the daemons and run again with --force",
            mismatched.join(", ")
        )));
    }
    println!("copied {total} rows; every table has the same rows and checksum in both stores");
    Ok(())
}
