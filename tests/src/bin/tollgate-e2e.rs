//! The `tollgate` program under another name, so the end-to-end tests of this package can run
//! it as a separate process (and kill it) without depending on another package's binary.

fn main() -> std::process::ExitCode {
    tollgate_host::cli::main()
}
