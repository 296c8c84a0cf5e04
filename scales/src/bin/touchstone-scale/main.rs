//! `touchstone-scale`: the balance tool for installers and support.
//!
//! Lists serial ports, probes a port for a balance, watches live readings, decodes raw
//! balance output from standard input as JSON lines, and runs a virtual balance. Thin by
//! design: each subcommand wires library parts together; errors are printed once, here.

mod cli;
mod json;
mod run;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
