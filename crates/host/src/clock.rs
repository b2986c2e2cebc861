//! Today and now, as the pipeline reads them: the store's clock, so what a check or a report
//! stamps agrees with what the store records.

/// Now, RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    tollgate_store::now()
}

/// Today's date (UTC), `YYYY-MM-DD`: the as-of date of checks and reports.
pub fn today() -> String {
    now()[..10].to_string()
}
