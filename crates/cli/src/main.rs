//! `supermarket`: one binary, one subcommand per part of the system.
//!
//! Every setting is a flag that also reads an environment variable (see
//! `.env.example`); a missing or malformed one stops the program with a
//! message naming it.

use clap::Parser;

mod commands;
mod up;

#[derive(Parser, Debug)]
#[command(
    name = "supermarket",
    version,
    about = "Supermarket sales platform: checkout, event pipeline and analytics"
)]
struct Cli {
    #[command(subcommand)]
    command: commands::Command,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    supermarket_http::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.command.run()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
