//! `supermarket up`: the whole system on one machine, without Docker.
//!
//! Uses the local PostgreSQL and nats-server (starting them when they are
//! installed but stopped), creates the OLTP and analytics databases when
//! missing, migrates both, loads the CSV files (idempotent), then runs every
//! service as a task of this process with the same settings as
//! `supermarket serve …`. Owner and cashier tokens come from the environment,
//! else from `.run/credentials`, else are generated there. Ctrl-C stops the
//! services gracefully, then the nats-server this command started.
//!
//! Module map:
//! - [`provision`]: PostgreSQL, the two databases and their migrations,
//!   NATS, loading the CSV files.
//! - [`services`]: where each service listens ([`services::ServiceAddresses`]),
//!   their shared settings, running them as tasks until one fails or Ctrl-C.
//! - [`processes`]: child servers (nats-server, the nginx edge) and stopping them.
//! - [`credentials`]: the owner and cashier tokens and `.run/credentials`.
//! - [`banner`]: what is printed once everything answers.
//! - this file: [`UpArgs`] and [`run`], the order of the steps.

mod banner;
mod credentials;
mod processes;
mod provision;
mod services;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use supermarket_process::non_empty_env;

use self::services::ServiceAddresses;

#[derive(Args, Debug)]
pub struct UpArgs {
    /// Administrative URL of the local PostgreSQL server, used to create the
    /// two databases (ignored for a database whose URL is given by
    /// DATABASE_URL / ANALYTICS_DATABASE_URL).
    #[arg(
        long = "postgres-url",
        env = "UP_POSTGRES_URL",
        value_name = "UP_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres",
        hide_env_values = true
    )]
    postgres_url: String,
    /// Name of the OLTP database created on that server.
    #[arg(long = "oltp-database", default_value = "supermarket", value_parser = database_name)]
    oltp_database: String,
    /// Name of the analytics database created on that server.
    #[arg(long = "analytics-database", default_value = "supermarket_analytics", value_parser = database_name)]
    analytics_database: String,
    /// NATS server with JetStream; a local nats-server is started when none answers.
    #[arg(
        long = "nats-url",
        env = "NATS_URL",
        value_name = "NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    nats_url: String,
    /// Address the services listen on (ports 8000–8005 as in `supermarket serve`).
    #[arg(
        long = "host",
        env = "UP_HOST",
        value_name = "UP_HOST",
        default_value = "127.0.0.1"
    )]
    host: std::net::IpAddr,
    /// Folder of products_list.csv, purchases.csv and supermarkets.csv.
    #[arg(long = "data-dir", value_name = "PATH", default_value = "data")]
    data_dir: PathBuf,
    /// Folder for the generated credentials, the NATS store and the data lake (git-ignored).
    #[arg(
        long = "run-dir",
        env = "UP_RUN_DIR",
        value_name = "UP_RUN_DIR",
        default_value = ".run"
    )]
    run_dir: PathBuf,
    /// Do not load the CSV files.
    #[arg(long)]
    skip_load: bool,
    /// Plain-HTTP port of the local nginx edge (pages and APIs on one origin).
    #[arg(
        long = "edge-port",
        env = "UP_EDGE_PORT",
        value_name = "UP_EDGE_PORT",
        default_value_t = 8080
    )]
    edge_port: u16,
    /// HTTPS port of the local nginx edge (self-signed certificate in the run folder).
    #[arg(
        long = "edge-tls-port",
        env = "UP_EDGE_TLS_PORT",
        value_name = "UP_EDGE_TLS_PORT",
        default_value_t = 8443
    )]
    edge_tls_port: u16,
    /// Do not start the nginx edge.
    #[arg(long)]
    no_edge: bool,
}

fn database_name(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() < 64
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!("`{text}`: use lower-case letters, digits and _"))
    }
}

pub async fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.run_dir)
        .with_context(|| format!("cannot create {} (UP_RUN_DIR)", args.run_dir.display()))?;
    let databases = provision::databases(&args).await?;
    let nats = provision::ensure_nats(&args.nats_url, &args.run_dir).await?;
    let credentials = credentials::load_or_create(&args.run_dir)?;
    let addresses = ServiceAddresses::from_env(args.host)?;
    let mut shared = services::shared_settings(
        &databases.oltp_url,
        &databases.analytics_url,
        &args.nats_url,
        &args.run_dir.join("lake"),
        credentials.as_ref(),
        &addresses,
    );
    if !args.skip_load {
        provision::load_csv(&args.data_dir, &shared).await?;
    }

    let shutdown = supermarket_http::shutdown::on_signal();
    let reachable = addresses.reachable();
    // nginx starts before the services (it waits for its upstreams): without
    // it the POS page is served by the purchases service and must be told
    // where the catalog is, on the products service's own origin.
    let edge = if args.no_edge {
        None
    } else {
        processes::start_edge(&args, &reachable).await
    };
    if edge.is_none() && non_empty_env("POS_CATALOG_URL").is_none() {
        shared.push(("POS_CATALOG_URL", format!("http://{}", reachable.products)));
    }
    let tasks = services::start(&shared, &shutdown)?;
    let announce = {
        let shutdown = shutdown.clone();
        let edge_ports = edge.as_ref().map(|_| (args.edge_port, args.edge_tls_port));
        let credentials = credentials.clone();
        let credentials_file = args.run_dir.join("credentials");
        tokio::spawn(async move {
            let addresses = reachable.all();
            if banner::wait_for_ports(&addresses, Duration::from_secs(30), &shutdown).await {
                banner::print(
                    &reachable,
                    edge_ports,
                    credentials.as_ref(),
                    &credentials_file,
                );
            }
        })
    };

    let exit = services::supervise(tasks, &shutdown).await;
    announce.abort();
    if let Some(edge) = edge {
        edge.stop().await;
    }
    if let Some(nats) = nats {
        nats.stop().await;
    }
    println!("stopped");
    Ok(exit)
}
