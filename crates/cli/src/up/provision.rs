//! What `supermarket up` makes ready before any service starts: PostgreSQL
//! (a stopped local cluster is started), the OLTP and analytics databases
//! (created when missing, then migrated), NATS (a local nats-server started
//! when none answers) and the CSV data (loaded, idempotently).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use supermarket_process::{find_program, non_empty_env};
use supermarket_storage::{migrate, pool, with_database};

use super::UpArgs;
use super::processes::ChildServer;
use super::services::{SharedSettings, settings};

/// Connection URLs of the two databases, both migrated.
pub struct Databases {
    pub oltp_url: String,
    pub analytics_url: String,
}

/// The databases of DATABASE_URL / ANALYTICS_DATABASE_URL, else the two
/// named by `args` on the server of UP_POSTGRES_URL (started and created
/// as needed); either way migrated.
pub async fn databases(args: &UpArgs) -> anyhow::Result<Databases> {
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
    Ok(Databases {
        oltp_url,
        analytics_url,
    })
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

/// The `host:port` of a NATS URL (user and password skipped, port 4222 by default).
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

/// Makes sure NATS answers at `url`; when it does not and the address is on
/// this machine, starts nats-server with JetStream storing in `RUN_DIR/nats`
/// (returned, to be stopped at the end).
pub async fn ensure_nats(url: &str, run_dir: &Path) -> anyhow::Result<Option<ChildServer>> {
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
            return Ok(Some(ChildServer::new(child)));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!(
        "nats-server did not start listening on {addr}: see {}",
        run_dir.join("nats-server.log").display()
    )
}

/// Loads the CSV files of `data_dir` as `supermarket load` would (idempotent).
pub async fn load_csv(data_dir: &Path, shared: &SharedSettings) -> anyhow::Result<()> {
    let file = |name: &str| data_dir.join(name).display().to_string();
    let extra = [
        "--products",
        &file("products_list.csv"),
        "--purchases",
        &file("purchases.csv"),
        "--branches",
        &file("supermarkets.csv"),
        "--no-progress",
    ];
    let load: supermarket_loader::LoadArgs = settings("load", shared, &extra)?;
    let code = supermarket_loader::run(load).await?;
    if code != ExitCode::SUCCESS {
        bail!(
            "loading the CSV files of {} failed (see above); fix them or pass --skip-load",
            data_dir.display()
        );
    }
    Ok(())
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
}
