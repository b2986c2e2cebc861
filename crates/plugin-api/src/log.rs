//! Structured logging into the host's logs (with the plugin id and connection attached by the
//! host). Never log settings or response bodies that may hold personal data in bulk.

use crate::bindings::tollgate::plugin::log as raw;

pub use raw::Level;

/// Log a message with key/value fields. Natively (a plugin's unit tests) the line goes to
/// stderr instead of the host.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    #[cfg(target_arch = "wasm32")]
    raw::log(level, message, &fields);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{level:?}: {message} {fields:?}");
}

/// One short, located line (`LOCATION: MESSAGE`, the location also as the field `location`):
/// where is a file and line (`people.csv:12`), a record's key, or a request (`GET /items`).
pub fn at(level: Level, location: &str, message: &str) {
    log(
        level,
        &format!("{location}: {message}"),
        &[("location", location)],
    )
}

/// Log at debug level.
pub fn debug(message: &str, fields: &[(&str, &str)]) {
    log(Level::Debug, message, fields)
}

/// Log at info level.
pub fn info(message: &str, fields: &[(&str, &str)]) {
    log(Level::Info, message, fields)
}

/// Log at warn level.
pub fn warn(message: &str, fields: &[(&str, &str)]) {
    log(Level::Warn, message, fields)
}
