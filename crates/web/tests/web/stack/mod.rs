//! The whole system for a browser test, in this process and on real
//! servers: fresh databases, unique NATS names, every service on a free
//! port, nginx rendered from deploy/nginx, chromedriver. The pages come from
//! the services that mount them: the POS and the login routes from the
//! purchases service, the dashboard from the analytics API.
//!
//! Module map:
//! - `process`: the pieces every server needs: settings parsed like
//!   `supermarket serve`, free ports, programs on the PATH, child processes
//!   and temporary folders removed at drop.
//! - `driver`: [`Driver`], chromedriver and the Chromium sessions it opens.
//! - this file: [`Stack`], every service and nginx started together.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use supermarket_testkit::{TestDatabases, TestNats};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

mod driver;
mod process;

pub use driver::Driver;
use process::{Guard, TempDir, free_port, program, settings, wait_for_port};

pub const OWNER: &str = "owner-token-for-browser-tests";
pub const CASHIER: &str = "cashier-token-for-browser-tst";

pub struct Stack {
    pub db: TestDatabases,
    pub nats: TestNats,
    pub edge: String,
    shared: Vec<(&'static str, String)>,
    pub purchases_port: u16,
    pub analytics_port: u16,
    pub products_port: u16,
    access_log: PathBuf,
    purchases: Option<(CancellationToken, JoinHandle<()>)>,
    services: Vec<(CancellationToken, JoinHandle<()>)>,
    _nginx: Guard,
    _dir: TempDir,
}

fn spawn<F>(future: F) -> (CancellationToken, JoinHandle<()>)
where
    F: FnOnce(CancellationToken) -> JoinHandle<()>,
{
    let token = CancellationToken::new();
    let handle = future(token.clone());
    (token, handle)
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with_edge(&[]).await
    }

    /// The stack with extra settings for deploy/nginx/render.sh (e.g. lower
    /// rate limits).
    pub async fn start_with_edge(edge_settings: &[(&str, &str)]) -> Stack {
        let nginx_program = program("nginx", "nginx");
        let dir = TempDir::new("browser");
        let db = TestDatabases::new().await;
        let nats = TestNats::new().await;
        let shared: Vec<(&'static str, String)> = vec![
            ("DATABASE_URL", db.oltp_url.clone()),
            ("ANALYTICS_DATABASE_URL", db.analytics_url.clone()),
            ("NATS_URL", nats.url.clone()),
            ("NATS_STREAM", nats.stream.clone()),
            ("NATS_SUBJECT_PREFIX", nats.subject_prefix.clone()),
            (
                "ANALYTICS_CONSUMER_NAME",
                format!("{}_analytics", nats.consumer),
            ),
            ("LAKE_CONSUMER_NAME", format!("{}_lake", nats.consumer)),
            ("LAKE_URL", dir.0.join("lake").display().to_string()),
            ("OWNER_TOKEN", OWNER.to_owned()),
            ("CASHIER_TOKEN", CASHIER.to_owned()),
            ("RELAY_POLL_MS", "200".to_owned()),
        ];

        // The catalog and branches (and the historical purchases).
        let data = |path: PathBuf| path.display().to_string();
        let load: supermarket_loader::LoadArgs = settings(
            &shared,
            &[
                "--products".into(),
                data(supermarket_testkit::data::products_csv()),
                "--purchases".into(),
                data(supermarket_testkit::data::purchases_csv()),
                "--branches".into(),
                data(supermarket_testkit::data::branches_csv()),
                "--no-progress".into(),
            ],
        );
        let code = supermarket_loader::run(load).await.expect("load runs");
        assert_eq!(code, std::process::ExitCode::SUCCESS, "the CSV files load");

        let port0 = |name: &'static str| (name, "127.0.0.1:0".to_owned());
        let mut services = Vec::new();

        let mut with = shared.clone();
        with.push(port0("PRODUCTS_ADDR"));
        let products = supermarket_products::Application::build(settings(&with, &[]))
            .await
            .expect("products starts");
        let products_port = products.port();
        services.push(spawn(|t| {
            tokio::spawn(async move { products.run_until_stopped(t).await.expect("products runs") })
        }));

        let mut with = shared.clone();
        with.push(port0("ANALYTICS_ADDR"));
        let analytics = supermarket_analytics::api::Application::build(settings(&with, &[]))
            .await
            .expect("analytics API starts");
        let analytics_port = analytics.port();
        services.push(spawn(|t| {
            tokio::spawn(async move {
                analytics
                    .run_until_stopped(t)
                    .await
                    .expect("analytics API runs")
            })
        }));

        let mut with = shared.clone();
        with.push(port0("RELAY_ADDR"));
        let relay: supermarket_relay::Config = settings(&with, &[]);
        services.push(spawn(|t| {
            tokio::spawn(async move { supermarket_relay::run(relay, t).await.expect("relay runs") })
        }));

        let mut with = shared.clone();
        with.push(port0("CONSUMER_ADDR"));
        let consumer: supermarket_analytics::consumer::Config = settings(&with, &[]);
        services.push(spawn(|t| {
            tokio::spawn(async move {
                supermarket_analytics::consumer::run(consumer, t)
                    .await
                    .expect("consumer runs")
            })
        }));

        let purchases_port = free_port();
        let edge_port = free_port();
        let tls_port = free_port();
        let state = dir.0.join("nginx");
        let config = dir.0.join("nginx.conf");
        let render = supermarket_testkit::data::repo_root().join("deploy/nginx/render.sh");
        let status = Command::new("sh")
            .arg(&render)
            .arg(&config)
            .env("PURCHASES_UPSTREAMS", format!("127.0.0.1:{purchases_port}"))
            .env("PRODUCTS_UPSTREAMS", format!("127.0.0.1:{products_port}"))
            .env("ANALYTICS_UPSTREAMS", format!("127.0.0.1:{analytics_port}"))
            .env("HTTP_PORT", "")
            .env("HTTPS_PORT", tls_port.to_string())
            .env("PLAIN_PORTS", edge_port.to_string())
            .env("NGINX_STATE_DIR", &state)
            .env("NGINX_ACCESS_LOG", dir.0.join("access.log"))
            .env("NGINX_ERROR_LOG", dir.0.join("error.log"))
            .envs(edge_settings.iter().copied())
            .stderr(Stdio::null())
            .status()
            .expect("render.sh runs");
        assert!(status.success(), "the nginx config renders");
        let nginx = Command::new(nginx_program)
            .arg("-c")
            .arg(&config)
            .arg("-e")
            .arg(dir.0.join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let nginx = Guard(nginx);
        wait_for_port(edge_port, "nginx").await;

        let mut stack = Stack {
            db,
            nats,
            edge: format!("http://127.0.0.1:{edge_port}"),
            shared,
            purchases_port,
            analytics_port,
            products_port,
            access_log: dir.0.join("access.log"),
            purchases: None,
            services,
            _nginx: nginx,
            _dir: dir,
        };
        stack.start_purchases().await;
        stack
    }

    /// Starts the purchases service on its fixed port (the one nginx knows).
    pub async fn start_purchases(&mut self) {
        let mut with = self.shared.clone();
        with.push((
            "PURCHASES_ADDR",
            format!("127.0.0.1:{}", self.purchases_port),
        ));
        let deadline = Instant::now() + Duration::from_secs(10);
        let app = loop {
            // The previous instance's socket may take a moment to be released.
            match supermarket_purchases::Application::build(settings(&with, &[])).await {
                Ok(app) => break app,
                Err(error) if Instant::now() < deadline => {
                    eprintln!("purchases not started yet: {error:#}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("purchases starts: {error:#}"),
            }
        };
        self.purchases = Some(spawn(|t| {
            tokio::spawn(async move { app.run_until_stopped(t).await.expect("purchases runs") })
        }));
        wait_for_port(self.purchases_port, "purchases").await;
    }

    /// Stops the purchases service (graceful, waits for the end).
    pub async fn stop_purchases(&mut self) {
        if let Some((token, handle)) = self.purchases.take() {
            token.cancel();
            handle.await.expect("purchases stops cleanly");
        }
    }

    /// The upstream port nginx sent the last request for `uri` to, from its
    /// access log (`None`: not proxied, e.g. answered by nginx itself). nginx
    /// writes the line once the response is sent, so this waits a little.
    pub async fn upstream_port(&self, uri: &str) -> Option<u16> {
        // The line comes just after the response: without this pause an
        // earlier request's line for the same uri could be taken for it.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.upstream_in_log("uri", uri).await
    }

    /// The upstream port of the request nginx tagged `request_id` (its
    /// response's X-Request-Id); `None`: answered by nginx itself.
    pub async fn upstream_of(&self, request_id: &str) -> Option<u16> {
        self.upstream_in_log("request_id", request_id).await
    }

    /// The upstream port of the last access log line whose `field` is
    /// `value`, waiting up to 2 s for nginx to write it.
    async fn upstream_in_log(&self, field: &str, value: &str) -> Option<u16> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let log = std::fs::read_to_string(&self.access_log).unwrap_or_default();
            let entry = log
                .lines()
                .rev()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .find(|entry| entry[field] == value);
            match entry {
                Some(entry) => {
                    return entry["upstream"]
                        .as_str()?
                        .rsplit(':')
                        .next()?
                        .trim()
                        .parse()
                        .ok();
                }
                None if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                None => panic!("no access log line with {field} {value}"),
            }
        }
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.db.oltp_count(sql).await
    }

    pub async fn stop(mut self) {
        self.stop_purchases().await;
        for (token, _) in &self.services {
            token.cancel();
        }
        for (_, handle) in self.services.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
        }
        self.nats.cleanup().await;
    }
}
