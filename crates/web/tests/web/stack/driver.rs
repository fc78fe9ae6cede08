//! chromedriver and the headless Chromium sessions it opens.

use std::path::Path;
use std::process::{Command, Stdio};

use super::process::{Guard, TempDir, free_port, program, wait_for_port};

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
