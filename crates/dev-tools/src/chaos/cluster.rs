//! The system under test, every part a separate process on this machine:
//! a private PostgreSQL (OLTP and analytics databases), a private
//! nats-server, two purchases instances, the products service (where the
//! tills read the catalog), the relay and the analytics consumer and the lake
//! sink (writing to a local folder).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::chaos::Settings;
use crate::chaos::nats::Nats;
use crate::chaos::postgres::Postgres;
use crate::chaos::process::{self, Process, Spec};

/// A service process of the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Purchases(usize),
    Products,
    Relay,
    Consumer,
    LakeSink,
}

/// Every process of the run. Field order is drop order: services first,
/// then the broker, then the database.
pub struct Cluster {
    pub purchases: Vec<Process>,
    pub products: Process,
    pub relay: Process,
    pub consumer: Process,
    pub lake_sink: Process,
    pub nats: Nats,
    pub postgres: Postgres,
    pub work: PathBuf,
    /// Keep the work folder (logs, lake, data) when the cluster is dropped.
    pub keep: bool,
    pub purchase_urls: Vec<String>,
    /// The products service, serving the catalog.
    pub catalog_url: String,
    ready_urls: Vec<(Service, String)>,
    pub oltp_url: String,
    pub analytics_url: String,
    pub cashier_token: String,
    pub lake_dir: PathBuf,
}

const OLTP_DB: &str = "supermarket";
const ANALYTICS_DB: &str = "supermarket_analytics";
const CREATE_DATABASES: [&str; 2] = [
    "CREATE DATABASE supermarket",
    "CREATE DATABASE supermarket_analytics",
];

impl Cluster {
    /// Starts everything, creates, migrates and loads the databases (the
    /// catalog and branches only), and waits until every service is ready.
    pub async fn start(settings: &Settings) -> anyhow::Result<Cluster> {
        // Services run in the work folder: relative paths would not resolve there.
        let program = std::fs::canonicalize(&settings.supermarket).with_context(|| {
            format!(
                "no supermarket binary at {}",
                settings.supermarket.display()
            )
        })?;
        let data_dir = std::fs::canonicalize(&settings.data_dir)
            .with_context(|| format!("no data folder at {}", settings.data_dir.display()))?;
        let work = match &settings.work_dir {
            Some(dir) => dir.clone(),
            None => std::env::temp_dir().join(format!(
                "supermarket-chaos-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            )),
        };
        std::fs::create_dir_all(&work)
            .with_context(|| format!("cannot create the work folder {}", work.display()))?;
        let shown = work.display().to_string();
        Self::start_in(settings, program, data_dir, work)
            .await
            .with_context(|| format!("the cluster did not start (logs left in {shown})"))
    }

    async fn start_in(
        settings: &Settings,
        program: PathBuf,
        data_dir: PathBuf,
        work: PathBuf,
    ) -> anyhow::Result<Cluster> {
        // The postgres user must be able to reach its data folder inside.
        std::fs::set_permissions(&work, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        tracing::info!(work = %work.display(), "starting PostgreSQL and nats-server");
        let postgres = Postgres::start(&work, settings.pg_bindir.as_deref()).await?;
        let admin = crate::chaos::db::connect(&postgres.url("postgres")).await?;
        for statement in CREATE_DATABASES {
            admin
                .batch_execute(statement)
                .await
                .with_context(|| statement.to_owned())?;
        }
        drop(admin);
        let nats = Nats::start(&work, settings.nats_server.as_deref()).await?;

        let oltp_url = postgres.url(OLTP_DB);
        let analytics_url = postgres.url(ANALYTICS_DB);
        let owner_token = format!("owner-{}", uuid::Uuid::new_v4().simple());
        let cashier_token = format!("cashier-{}", uuid::Uuid::new_v4().simple());
        let lake_dir = work.join("lake");
        let common: Vec<(String, String)> = [
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", settings.rust_log.as_str()),
            ("OWNER_TOKEN", owner_token.as_str()),
            ("CASHIER_TOKEN", cashier_token.as_str()),
            ("STORE_TIMEZONE", settings.store_timezone.as_str()),
            ("DATABASE_URL", oltp_url.as_str()),
            ("ANALYTICS_DATABASE_URL", analytics_url.as_str()),
            ("NATS_URL", &nats.url()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let spec = |name: &str, args: &[&str], extra: &[(&str, String)]| Spec {
            name: name.to_owned(),
            program: program.clone(),
            args: args.iter().map(OsString::from).collect(),
            env: common
                .iter()
                .cloned()
                .chain(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())))
                .collect(),
            run_as: None,
            current_dir: Some(work.clone()),
            log: work.join(format!("{name}.log")),
            drop_signal: libc::SIGKILL,
        };

        tracing::info!("migrating and loading the catalog");
        process::run_to_end(
            &spec("migrate", &["migrate"], &[]),
            Duration::from_secs(120),
        )
        .await?;
        let no_history = work.join("no-purchases.csv");
        std::fs::write(
            &no_history,
            "supermarket_id,timestamp,user_id,items_list,total_amount\n",
        )?;
        let products = data_dir.join("products_list.csv");
        let branches = data_dir.join("supermarkets.csv");
        let load_args = [
            "load",
            "--no-progress",
            "--products",
            &products.to_string_lossy(),
            "--branches",
            &branches.to_string_lossy(),
            "--purchases",
            &no_history.to_string_lossy(),
        ];
        process::run_to_end(&spec("load", &load_args, &[]), Duration::from_secs(120)).await?;

        let mut purchases = Vec::new();
        let mut purchase_urls = Vec::new();
        let mut ready_urls = Vec::new();
        for index in 0..2 {
            let port = process::free_port()?;
            let name = format!("purchases-{}", index + 1);
            purchases.push(Process::new(spec(
                &name,
                &["serve", "purchases"],
                &[
                    ("PURCHASES_ADDR", format!("127.0.0.1:{port}")),
                    ("DB_POOL_SIZE", "4".to_owned()),
                    ("PURCHASES_WRITERS", "2".to_owned()),
                ],
            )));
            purchase_urls.push(format!("http://127.0.0.1:{port}"));
            ready_urls.push((
                Service::Purchases(index),
                format!("http://127.0.0.1:{port}/ready"),
            ));
        }
        let products_port = process::free_port()?;
        let products = Process::new(spec(
            "products",
            &["serve", "products"],
            &[
                ("PRODUCTS_ADDR", format!("127.0.0.1:{products_port}")),
                ("DB_POOL_SIZE", "1".to_owned()),
            ],
        ));
        let catalog_url = format!("http://127.0.0.1:{products_port}");
        ready_urls.push((Service::Products, format!("{catalog_url}/ready")));
        let relay_port = process::free_port()?;
        let relay = Process::new(spec(
            "relay",
            &["serve", "relay"],
            &[
                ("RELAY_ADDR", format!("127.0.0.1:{relay_port}")),
                ("DB_POOL_SIZE", "2".to_owned()),
            ],
        ));
        ready_urls.push((
            Service::Relay,
            format!("http://127.0.0.1:{relay_port}/ready"),
        ));
        let consumer_port = process::free_port()?;
        let consumer = Process::new(spec(
            "analytics-consumer",
            &["serve", "analytics-consumer"],
            &[
                ("CONSUMER_ADDR", format!("127.0.0.1:{consumer_port}")),
                ("ANALYTICS_DB_POOL_SIZE", "4".to_owned()),
            ],
        ));
        ready_urls.push((
            Service::Consumer,
            format!("http://127.0.0.1:{consumer_port}/ready"),
        ));
        let lake_sink_port = process::free_port()?;
        let lake_sink = Process::new(spec(
            "lake-sink",
            &["serve", "lake-sink"],
            &[
                ("LAKE_SINK_ADDR", format!("127.0.0.1:{lake_sink_port}")),
                ("ANALYTICS_DB_POOL_SIZE", "2".to_owned()),
                ("LAKE_URL", lake_dir.to_string_lossy().into_owned()),
                ("LAKE_ROLL_SECONDS", settings.lake_roll_seconds.to_string()),
            ],
        ));
        ready_urls.push((
            Service::LakeSink,
            format!("http://127.0.0.1:{lake_sink_port}/ready"),
        ));

        let mut cluster = Cluster {
            purchases,
            products,
            relay,
            consumer,
            lake_sink,
            nats,
            postgres,
            work,
            keep: settings.keep_work_dir,
            purchase_urls,
            catalog_url,
            ready_urls,
            oltp_url,
            analytics_url,
            cashier_token,
            lake_dir,
        };
        for service in cluster.services() {
            cluster.process(service).start()?;
        }
        cluster.wait_ready(Duration::from_secs(60)).await?;
        Ok(cluster)
    }

    pub fn services(&self) -> Vec<Service> {
        let mut all: Vec<Service> = (0..self.purchases.len()).map(Service::Purchases).collect();
        all.extend([
            Service::Products,
            Service::Relay,
            Service::Consumer,
            Service::LakeSink,
        ]);
        all
    }

    pub fn process(&mut self, service: Service) -> &mut Process {
        match service {
            Service::Purchases(index) => &mut self.purchases[index],
            Service::Products => &mut self.products,
            Service::Relay => &mut self.relay,
            Service::Consumer => &mut self.consumer,
            Service::LakeSink => &mut self.lake_sink,
        }
    }

    /// Waits until every service answers 200 on `/ready`.
    pub async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + limit;
        for (service, url) in self.ready_urls.clone() {
            // One deadline for them all: each waits what is left of it.
            let left = deadline.saturating_duration_since(Instant::now());
            self.process(service)
                .wait_ready(left, Duration::from_millis(50), async || {
                    client
                        .get(&url)
                        .send()
                        .await
                        .is_ok_and(|response| response.status().is_success())
                })
                .await?;
        }
        Ok(())
    }

    /// Processes that stopped although nobody stopped them, with their exit
    /// status; each is started again (as a supervisor with a restart policy
    /// would) so the run goes on, and reported as a failure.
    pub fn restart_exited(&mut self) -> anyhow::Result<Vec<(String, ExitStatus, String)>> {
        let mut exited = Vec::new();
        for service in self.services() {
            let process = self.process(service);
            if let Some(status) = process.exited()? {
                let tail = process.log_tail(20);
                tracing::error!(process = process.name(), %status, "a service stopped on its own: starting it again");
                exited.push((process.name().to_owned(), status, tail));
                process.start()?;
            }
        }
        for process in [self.nats.process(), self.postgres.process()] {
            if let Some(status) = process.exited()? {
                anyhow::bail!(
                    "{} stopped on its own ({status}):\n{}",
                    process.name(),
                    process.log_tail(40)
                );
            }
        }
        Ok(exited)
    }

    /// Stops the services the way an orchestrator does (SIGTERM, then
    /// SIGKILL after 30 s): the lake sink writes the roll in hand.
    pub async fn stop_services(&mut self) -> anyhow::Result<Vec<(String, Option<ExitStatus>)>> {
        let mut statuses = Vec::new();
        for service in self.services() {
            let process = self.process(service);
            let status = process.stop(libc::SIGTERM, Duration::from_secs(30)).await?;
            statuses.push((process.name().to_owned(), status));
        }
        Ok(statuses)
    }

    /// The tails of every log, for a failure report.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        for name in [
            "purchases-1",
            "purchases-2",
            "relay",
            "analytics-consumer",
            "lake-sink",
            "nats-server",
            "postgres",
        ] {
            let path = self.work.join(format!("{name}.log"));
            out.push_str(&format!(
                "\n===== {} (last {lines} lines) =====\n{}\n",
                path.display(),
                process::tail(&path, lines)
            ));
        }
        out
    }

    pub fn work_dir(&self) -> &Path {
        &self.work
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Processes first (drop kills them), then their folder.
        for process in &mut self.purchases {
            process.terminate_now();
        }
        self.relay.terminate_now();
        self.consumer.terminate_now();
        self.nats.process().terminate_now();
        self.postgres.process().terminate_now();
        if self.keep {
            eprintln!("chaos: logs, lake and data kept in {}", self.work.display());
        } else if let Err(error) = std::fs::remove_dir_all(&self.work) {
            eprintln!("chaos: cannot remove {}: {error}", self.work.display());
        }
    }
}
