//! `tollgate`: see `tollgate --help`.

fn main() -> std::process::ExitCode {
    tollgate_host::cli::main()
}
