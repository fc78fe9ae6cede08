//! `supermarket load` without the rest of the platform: the same flags and
//! behaviour, in a binary that builds in a fraction of the time (handy to
//! profile the loader alone). The real entry point is the `supermarket` CLI.

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "load",
    about = "Load branches, products and historical purchases from CSV files"
)]
struct Cli {
    #[command(flatten)]
    load: supermarket_loader::LoadArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tokio_postgres=warn".into()),
        )
        .init();
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
    match runtime.block_on(supermarket_loader::run(cli.load)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
