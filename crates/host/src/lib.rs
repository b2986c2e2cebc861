//! The Tollgate host: configuration, the WebAssembly plugin runtime, the plugin registry,
//! the command line and the demo. The binary `tollgate` is a thin `main` over this library, so
//! end-to-end tests can drive the same code in-process.

pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod demo;
#[doc(hidden)]
pub mod fuzzing;
pub mod logging;
pub mod plugins;
pub mod publish;
pub mod report;
pub mod schema;
pub mod sync;
