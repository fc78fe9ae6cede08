//! The whole system for a browser test, in this process and on real
//! servers: fresh databases, unique NATS names, every service on a free
//! port, nginx rendered from deploy/nginx, chromedriver. The pages come from
//! the services that mount them: the POS and the login routes from the
//! purchases service, the dashboard from the analytics API.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::{Args, CommandFactory, FromArgMatches, Parser};
use supermarket_testkit::{TestDatabases, TestNats};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const OWNER: &str = "owner-token-for-browser-tests";
pub const CASHIER: &str = "cashier-token-for-browser-tst";

/// Parses a service's settings the way `supermarket serve` does, giving
/// each value as the flag that reads that environment variable.
pub fn settings<T: Args + FromArgMatches>(values: &[(&str, String)], extra: &[String]) -> T {
    #[derive(Parser)]
    struct Wrapper<T: Args + FromArgMatches> {
        #[command(flatten)]
        inner: T,
    }
    let command = Wrapper::<T>::command();
    let mut argv = vec!["test".to_owned()];
    for (variable, value) in values {
        if let Some(long) = command
            .get_arguments()
            .find(|a| a.get_env().is_some_and(|e| e == *variable))
            .and_then(|a| a.get_long())
        {
            argv.push(format!("--{long}={value}"));
        }
    }
    argv.extend(extra.iter().cloned());
    Wrapper::<T>::try_parse_from(argv)
        .unwrap_or_else(|e| panic!("settings: {}", e.render()))
        .inner
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn program(name: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("{name} is needed by the browser tests: install Debian's `{package}` package (scripts/test.sh does)"))
}

pub async fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "{what} does not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A child process stopped when dropped: SIGTERM first (nginx's master then
/// stops its workers, which would otherwise outlive it), SIGKILL after 5 s.
pub struct Guard(pub Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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

/// A folder removed at drop.
pub struct TempDir(pub PathBuf);
impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "supermarket-{label}-{}",
            supermarket_testkit::unique_suffix()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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

/// chromedriver on a free port, killed at drop.
pub struct Driver {
    pub url: String,
    _child: Guard,
    _profile: TempDir,
}

impl Driver {
    pub async fn start() -> Driver {
        let chromedriver = program("chromedriver", "chromium-driver");
        program("chromium", "chromium");
        let port = free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let child = Guard(child);
        wait_for_port(port, "chromedriver").await;
        Driver {
            url: format!("http://127.0.0.1:{port}"),
            _child: child,
            _profile: TempDir::new("chromium"),
        }
    }

    pub async fn browser(&self) -> fantoccini::Client {
        let profile: &Path = &self._profile.0;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                         "--window-size=1360,900", format!("--user-data-dir={}", profile.display())],
            }),
        );
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}
