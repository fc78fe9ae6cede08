//! `supermarket up`: the whole system on one machine, without Docker.
//!
//! Uses the local PostgreSQL and nats-server (starting them when they are
//! installed but stopped), creates the OLTP and analytics databases when
//! missing, migrates both, loads the CSV files (idempotent), then runs every
//! service as a task of this process with the same settings as
//! `supermarket serve …`. Owner and cashier tokens come from the environment,
//! else from `.run/credentials`, else are generated there. Ctrl-C stops the
//! services gracefully, then the nats-server this command started.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, CommandFactory, FromArgMatches, Parser};
use supermarket_process::{find_program, non_empty_env};
use supermarket_storage::{migrate, pool, with_database};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

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
    /// Address the services listen on (ports 8000–8004 as in `supermarket serve`).
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

/// The services, their listening-address variable and port.
const SERVICES: [(&str, &str, u16); 5] = [
    ("purchases", "PURCHASES_ADDR", 8000),
    ("analytics-api", "ANALYTICS_ADDR", 8001),
    ("products", "PRODUCTS_ADDR", 8002),
    ("relay", "RELAY_ADDR", 8003),
    ("analytics-consumer", "CONSUMER_ADDR", 8004),
];

pub async fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.run_dir)
        .with_context(|| format!("cannot create {} (UP_RUN_DIR)", args.run_dir.display()))?;

    // --- PostgreSQL and the two databases ---------------------------------
    let explicit_oltp = non_empty_env("DATABASE_URL");
    let explicit_analytics = non_empty_env("ANALYTICS_DATABASE_URL");
    let admin_needed = explicit_oltp.is_none() || explicit_analytics.is_none();
    let oltp_url = match explicit_oltp {
        Some(url) => url,
        None => {
            with_database(&args.postgres_url, &args.oltp_database).context("UP_POSTGRES_URL")?
        }
    };
    let analytics_url = match explicit_analytics {
        Some(url) => url,
        None => with_database(&args.postgres_url, &args.analytics_database)
            .context("UP_POSTGRES_URL")?,
    };
    if admin_needed {
        ensure_postgres(&args.postgres_url).await?;
        let admin = pool::connect(&args.postgres_url, "UP_POSTGRES_URL").await?;
        for name in [&args.oltp_database, &args.analytics_database] {
            let exists = admin
                .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[name])
                .await?
                .is_some();
            if !exists {
                admin
                    .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .with_context(|| format!("CREATE DATABASE {name}"))?;
                println!("created database {name}");
            }
        }
    }
    let mut oltp = pool::connect(&oltp_url, "DATABASE_URL").await?;
    let mut analytics = pool::connect(&analytics_url, "ANALYTICS_DATABASE_URL").await?;
    let applied = migrate::oltp(&mut oltp).await?;
    let applied_analytics = migrate::analytics(&mut analytics).await?;
    println!(
        "migrated: {applied} new OLTP migration(s), {applied_analytics} new analytics migration(s)"
    );
    drop((oltp, analytics));

    // --- NATS -------------------------------------------------------------
    let nats = ensure_nats(&args.nats_url, &args.run_dir).await?;

    // --- credentials --------------------------------------------------------
    let credentials = credentials(&args.run_dir)?;

    // --- settings shared by every service -------------------------------------
    let lake = args.run_dir.join("lake");
    let mut shared: Vec<(&str, String)> = vec![
        ("DATABASE_URL", oltp_url.clone()),
        ("ANALYTICS_DATABASE_URL", analytics_url.clone()),
        ("NATS_URL", args.nats_url.clone()),
    ];
    if non_empty_env("LAKE_URL").is_none() {
        shared.push(("LAKE_URL", lake.display().to_string()));
    }
    if let Some((owner, cashier)) = &credentials {
        shared.push(("OWNER_TOKEN", owner.clone()));
        shared.push(("CASHIER_TOKEN", cashier.clone()));
    }
    // Where this machine reaches each service (for the edge, the readiness
    // wait and the banner): a service bound to every interface on loopback.
    let mut addresses = Vec::new();
    for (_, variable, port) in SERVICES {
        let addr = match non_empty_env(variable) {
            Some(text) => text.parse::<SocketAddr>().with_context(|| {
                format!("{variable} `{text}` is not an address like 127.0.0.1:8000")
            })?,
            None => SocketAddr::new(args.host, port),
        };
        shared.push((variable, addr.to_string()));
        addresses.push(if addr.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        } else {
            addr
        });
    }

    // --- data ----------------------------------------------------------------
    if !args.skip_load {
        let file = |name: &str| args.data_dir.join(name).display().to_string();
        let extra = [
            "--products",
            &file("products_list.csv"),
            "--purchases",
            &file("purchases.csv"),
            "--branches",
            &file("supermarkets.csv"),
            "--no-progress",
        ];
        let load: supermarket_loader::LoadArgs = settings("load", &shared, &extra)?;
        let code = supermarket_loader::run(load).await?;
        if code != ExitCode::SUCCESS {
            bail!(
                "loading the CSV files of {} failed (see above); fix them or pass --skip-load",
                args.data_dir.display()
            );
        }
    }

    // --- services ----------------------------------------------------------------
    let shutdown = supermarket_http::shutdown::on_signal();
    let mut tasks: JoinSet<(&'static str, anyhow::Result<()>)> = JoinSet::new();
    let purchases: supermarket_purchases::Config = settings("purchases", &shared, &[])?;
    let analytics_api: supermarket_analytics::api::Config =
        settings("analytics-api", &shared, &[])?;
    let products: supermarket_products::Config = settings("products", &shared, &[])?;
    let relay: supermarket_relay::Config = settings("relay", &shared, &[])?;
    let consumer: supermarket_analytics::consumer::Config =
        settings("analytics-consumer", &shared, &[])?;
    let token = shutdown.clone();
    tasks.spawn(async move {
        (
            "purchases",
            supermarket_purchases::run(purchases, token).await,
        )
    });
    let token = shutdown.clone();
    tasks.spawn(async move {
        (
            "analytics-api",
            supermarket_analytics::api::run(analytics_api, token).await,
        )
    });
    let token = shutdown.clone();
    tasks.spawn(async move { ("products", supermarket_products::run(products, token).await) });
    let token = shutdown.clone();
    tasks.spawn(async move { ("relay", supermarket_relay::run(relay, token).await) });
    let token = shutdown.clone();
    tasks.spawn(async move {
        (
            "analytics-consumer",
            supermarket_analytics::consumer::run(consumer, token).await,
        )
    });

    let edge = if args.no_edge {
        None
    } else {
        start_edge(&args, &addresses).await
    };

    let announce = {
        let shutdown = shutdown.clone();
        let addresses = addresses.clone();
        let edge_ports = edge.as_ref().map(|_| (args.edge_port, args.edge_tls_port));
        let credentials = credentials.clone();
        let credentials_file = args.run_dir.join("credentials");
        tokio::spawn(async move {
            if wait_for_ports(&addresses, Duration::from_secs(30), &shutdown).await {
                print_banner(
                    &addresses,
                    edge_ports,
                    credentials.as_ref(),
                    &credentials_file,
                );
            }
        })
    };

    let mut failed = false;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((_, Ok(()))) if shutdown.is_cancelled() => {}
            Ok((name, Ok(()))) => {
                eprintln!("error: {name} stopped on its own; stopping everything");
                failed = true;
                shutdown.cancel();
            }
            Ok((name, Err(error))) => {
                eprintln!("error: {name} failed: {error:#}; stopping everything");
                failed = true;
                shutdown.cancel();
            }
            Err(error) => {
                eprintln!("error: a service task panicked: {error}; stopping everything");
                failed = true;
                shutdown.cancel();
            }
        }
    }
    announce.abort();
    if let Some(edge) = edge {
        edge.stop().await;
    }
    if let Some(nats) = nats {
        nats.stop().await;
    }
    println!("stopped");
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Parses a service's settings as `supermarket serve …` would, with the
/// values of `shared` given as the flags that read those environment
/// variables (so only the settings a service has are passed to it), plus
/// `extra` arguments. Other settings still come from the environment.
fn settings<T: Args + FromArgMatches>(
    service: &str,
    shared: &[(&str, String)],
    extra: &[&str],
) -> anyhow::Result<T> {
    #[derive(Parser)]
    #[command(name = "supermarket up")]
    struct Wrapper<T: Args + FromArgMatches> {
        #[command(flatten)]
        inner: T,
    }
    let command = Wrapper::<T>::command();
    let mut argv = vec!["supermarket-up".to_owned()];
    for (variable, value) in shared {
        let flag = command
            .get_arguments()
            .find(|arg| arg.get_env().is_some_and(|env| env == *variable))
            .and_then(|arg| arg.get_long());
        if let Some(long) = flag {
            argv.push(format!("--{long}={value}"));
        }
    }
    argv.extend(extra.iter().map(|s| (*s).to_owned()));
    let parsed = Wrapper::<T>::try_parse_from(argv)
        .map_err(|error| anyhow::anyhow!("settings of {service}: {}", error.render()))?;
    Ok(parsed.inner)
}

/// Makes sure PostgreSQL answers at `admin_url`, starting a stopped local cluster.
async fn ensure_postgres(admin_url: &str) -> anyhow::Result<()> {
    if pool::connect(admin_url, "UP_POSTGRES_URL").await.is_ok() {
        return Ok(());
    }
    let Some(ctl) = find_program("pg_ctlcluster") else {
        bail!(
            "PostgreSQL does not answer at UP_POSTGRES_URL and is not installed: install Debian's `postgresql` package \
               (sudo apt-get install postgresql), or set UP_POSTGRES_URL to a server that runs"
        );
    };
    let clusters = tokio::process::Command::new("pg_lsclusters")
        .arg("--no-header")
        .output()
        .await
        .context("pg_lsclusters")?;
    let listing = String::from_utf8_lossy(&clusters.stdout).into_owned();
    let mut started = false;
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if let [version, cluster, _port, status, ..] = fields[..]
            && status.starts_with("down")
        {
            println!("starting PostgreSQL {version}/{cluster}");
            let status = tokio::process::Command::new(&ctl)
                .args(["--skip-systemctl-redirect", version, cluster, "start"])
                .status()
                .await
                .context("pg_ctlcluster")?;
            if !status.success() {
                bail!(
                    "`pg_ctlcluster {version} {cluster} start` failed: start PostgreSQL yourself (as root) and re-run"
                );
            }
            started = true;
        }
    }
    if listing.trim().is_empty() {
        bail!(
            "PostgreSQL is installed but has no cluster: create one with `sudo pg_createcluster <version> main --start`"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match pool::connect(admin_url, "UP_POSTGRES_URL").await {
            Ok(_) => return Ok(()),
            Err(error) if Instant::now() > deadline => {
                let hint = if started {
                    "it was started but does not accept this URL"
                } else {
                    "every cluster is up but none answers this URL"
                };
                return Err(error.context(format!(
                    "PostgreSQL: {hint}; check UP_POSTGRES_URL (user, password, port)"
                )));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// A server this command started (nats-server, nginx); stopped with SIGTERM at the end.
struct ChildServer {
    child: tokio::process::Child,
}

impl ChildServer {
    async fn stop(mut self) {
        // Nothing to do with an error at the very end: the child is killed on drop anyway.
        let _ = supermarket_process::stop(
            &mut self.child,
            supermarket_process::SIGTERM,
            Duration::from_secs(5),
        )
        .await;
    }
}

fn nats_address(url: &str) -> anyhow::Result<SocketAddr> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host_port = rest
        .rsplit_once('@')
        .map_or(rest, |(_, hp)| hp)
        .trim_end_matches('/');
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:4222")
    };
    host_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .with_context(|| format!("NATS_URL `{url}` has no usable host:port"))
}

async fn ensure_nats(url: &str, run_dir: &Path) -> anyhow::Result<Option<ChildServer>> {
    let addr = nats_address(url)?;
    if tokio::net::TcpStream::connect(addr).await.is_ok() {
        return Ok(None);
    }
    if !addr.ip().is_loopback() {
        bail!("NATS does not answer at NATS_URL ({addr}), which is not on this machine");
    }
    let Some(program) = find_program("nats-server") else {
        bail!(
            "NATS does not answer at {addr} and nats-server is not installed: install Debian's `nats-server` package \
               (sudo apt-get install nats-server)"
        );
    };
    let store = run_dir.join("nats");
    std::fs::create_dir_all(&store)?;
    let log = std::fs::File::create(run_dir.join("nats-server.log"))?;
    println!(
        "starting nats-server with JetStream on {addr} (store {}, log {})",
        store.display(),
        run_dir.join("nats-server.log").display()
    );
    let child = tokio::process::Command::new(program)
        .args([
            "-a",
            &addr.ip().to_string(),
            "-p",
            &addr.port().to_string(),
            "-js",
            "-sd",
        ])
        .arg(&store)
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("cannot start nats-server")?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(Some(ChildServer { child }));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!(
        "nats-server did not start listening on {addr}: see {}",
        run_dir.join("nats-server.log").display()
    )
}

/// `(owner, cashier)` tokens: from the environment, else `RUN_DIR/credentials`,
/// else new random ones written there (mode 0600). `None` with AUTH_MODE=open.
fn credentials(run_dir: &Path) -> anyhow::Result<Option<(String, String)>> {
    if non_empty_env("AUTH_MODE").is_some_and(|mode| mode.eq_ignore_ascii_case("open")) {
        return Ok(None);
    }
    let file = run_dir.join("credentials");
    let mut owner = non_empty_env("OWNER_TOKEN");
    let mut cashier = non_empty_env("CASHIER_TOKEN");
    if let Ok(text) = std::fs::read_to_string(&file) {
        for line in text.lines() {
            match line.split_once('=') {
                Some(("OWNER_TOKEN", value)) if owner.is_none() => {
                    owner = Some(value.trim().to_owned())
                }
                Some(("CASHIER_TOKEN", value)) if cashier.is_none() => {
                    cashier = Some(value.trim().to_owned())
                }
                _ => {}
            }
        }
    }
    let owner = owner.unwrap_or_else(random_token);
    let cashier = cashier.unwrap_or_else(random_token);
    let text = format!(
        "# Generated by `supermarket up`; keep private.\nOWNER_TOKEN={owner}\nCASHIER_TOKEN={cashier}\n"
    );
    write_private(&file, &text).with_context(|| format!("cannot write {}", file.display()))?;
    Ok(Some((owner, cashier)))
}

fn random_token() -> String {
    use rand::Rng;
    let bytes: [u8; 24] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// Waits until every address accepts connections; false when cancelled or timed out.
async fn wait_for_ports(
    addresses: &[SocketAddr],
    limit: Duration,
    shutdown: &CancellationToken,
) -> bool {
    let deadline = Instant::now() + limit;
    for addr in addresses {
        loop {
            if shutdown.is_cancelled() || Instant::now() > deadline {
                return false;
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    true
}

/// Starts nginx with the repository's edge config (deploy/nginx), rendered
/// for this machine's ports. `None` (with a message) when nginx or the
/// template is missing: the services still run, and the pages are still
/// served directly (POS on purchases, dashboard on the analytics API).
async fn start_edge(args: &UpArgs, addresses: &[SocketAddr]) -> Option<ChildServer> {
    let Some(nginx) = find_program("nginx") else {
        println!(
            "note: nginx is not installed (Debian package `nginx`): no edge; the pages are on the services themselves"
        );
        return None;
    };
    let render = Path::new("deploy/nginx/render.sh");
    if !render.is_file() {
        println!(
            "note: deploy/nginx/render.sh not found (run `supermarket up` from the repository root): no edge"
        );
        return None;
    }
    let local = |i: usize| addresses[i].to_string();
    let dir = match std::fs::canonicalize(&args.run_dir) {
        Ok(run) => run.join("nginx"),
        Err(error) => {
            println!("note: no edge: {error}");
            return None;
        }
    };
    let config = dir.join("nginx.conf");
    let rendered = tokio::process::Command::new("sh")
        .arg(render)
        .arg(&config)
        .env("PURCHASES_UPSTREAMS", local(0))
        .env("ANALYTICS_UPSTREAMS", local(1))
        .env("PRODUCTS_UPSTREAMS", local(2))
        .env("HTTP_PORT", "")
        .env("HTTPS_PORT", args.edge_tls_port.to_string())
        .env("PLAIN_PORTS", args.edge_port.to_string())
        .env("NGINX_STATE_DIR", &dir)
        .env("NGINX_ACCESS_LOG", dir.join("access.log"))
        .env("NGINX_ERROR_LOG", dir.join("error.log"))
        .status()
        .await;
    if !matches!(rendered, Ok(status) if status.success()) {
        println!("note: rendering the nginx config failed: no edge");
        return None;
    }
    let spawned = tokio::process::Command::new(nginx)
        .arg("-c")
        .arg(&config)
        .arg("-e")
        .arg(dir.join("error.log"))
        .args(["-g", "daemon off;"])
        .kill_on_drop(true)
        .spawn();
    match spawned {
        Ok(child) => Some(ChildServer { child }),
        Err(error) => {
            println!("note: nginx did not start ({error}): no edge");
            None
        }
    }
}

fn print_banner(
    addresses: &[SocketAddr],
    edge: Option<(u16, u16)>,
    credentials: Option<&(String, String)>,
    file: &Path,
) {
    let url = |i: usize| format!("http://{}:{}", addresses[i].ip(), addresses[i].port());
    println!();
    println!("Supermarket is up.");
    if let Some((plain, tls)) = edge {
        println!(
            "  POS (cashier)       http://127.0.0.1:{plain}/pos      (or https://127.0.0.1:{tls}/pos, self-signed)"
        );
        println!("  Dashboard (owner)   http://127.0.0.1:{plain}/dashboard");
        println!("  Edge (nginx)        every API below on http://127.0.0.1:{plain} too");
    } else {
        println!(
            "  Pages (no edge)     {}/pos   {}/dashboard",
            url(0),
            url(1)
        );
    }
    println!(
        "  Purchases API       {}/api/v1/purchases   docs {}/docs",
        url(0),
        url(0)
    );
    println!(
        "  Analytics API       {}/unique-customers   {}/api/v1/analytics/kpis",
        url(1),
        url(1)
    );
    println!("  Products API        {}/api/v1/products", url(2));
    println!(
        "  Relay, consumer     {}/metrics   {}/metrics",
        url(3),
        url(4)
    );
    match credentials {
        Some((owner, cashier)) => {
            println!("Credentials (also in {}):", file.display());
            println!("  OWNER_TOKEN={owner}");
            println!("  CASHIER_TOKEN={cashier}");
            println!(
                "  API: Authorization: Bearer <token>; pages: sign in at /login with the token."
            );
        }
        None => println!("Access control is OFF (AUTH_MODE=open)."),
    }
    println!("Ctrl-C stops everything.");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nats_address_is_read_from_its_url() {
        assert_eq!(
            nats_address("nats://127.0.0.1:4222").unwrap(),
            SocketAddr::from(([127, 0, 0, 1], 4222))
        );
        assert_eq!(
            nats_address("nats://user:pw@127.0.0.1:5222")
                .unwrap()
                .port(),
            5222
        );
        assert_eq!(nats_address("127.0.0.1").unwrap().port(), 4222);
    }

    #[test]
    fn settings_are_passed_only_to_services_that_have_them() {
        let shared = [
            ("PRODUCTS_ADDR", "127.0.0.1:9999".to_owned()),
            ("NOT_A_SETTING", "x".to_owned()),
            ("DATABASE_URL", "postgres://x@h/db".to_owned()),
        ];
        let config: supermarket_products::Config = settings("products", &shared, &[]).unwrap();
        assert_eq!(config.addr, SocketAddr::from(([127, 0, 0, 1], 9999)));
    }
}
