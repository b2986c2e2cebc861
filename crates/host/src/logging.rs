//! Logs go to stderr (stdout is for results). `RUST_LOG` or `-v` choose the level;
//! `TOLLGATE_LOG_FORMAT=json` writes JSON lines (with the fields of the current span, so a
//! daemon job's lines carry its job id and connection). Colours only on a terminal.

use tracing_subscriber::EnvFilter;

/// Install the global subscriber. `verbosity` 0 = info, 1 = debug, 2+ = trace.
pub fn init(verbosity: u8) {
    let default = match verbosity {
        0 => "info,wasmtime=warn,cranelift=warn",
        1 => "debug,wasmtime=info,cranelift=warn,hyper=info,reqwest=info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let json = std::env::var("TOLLGATE_LOG_FORMAT").is_ok_and(|v| v == "json");
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
