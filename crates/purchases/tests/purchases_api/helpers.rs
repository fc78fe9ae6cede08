use serde_json::Value;
use supermarket_purchases::{Application, Config};
use supermarket_testkit::TestDatabases;
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub base: String,
    pub db: TestDatabases,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

pub async fn seeded_db() -> TestDatabases {
    let db = TestDatabases::new().await;
    db.oltp()
        .await
        .batch_execute(supermarket_testkit::data::CATALOG_SQL)
        .await
        .expect("seed catalog");
    db
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let db = seeded_db().await;
    let mut config = Config::for_database(&db.oltp_url);
    adjust(&mut config);
    let app = Application::build(config).await.expect("build the service");
    let base = format!("http://127.0.0.1:{}", app.port());
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp {
        base,
        db,
        http: reqwest::Client::new(),
        shutdown,
    }
}

impl TestApp {
    pub async fn post(&self, path: &str, body: &Value, key: Option<&str>) -> Answer {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        answer(request.send().await.expect("request")).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        answer(request.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        answer(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.db.oltp_count(sql).await
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// Asserts a problem document of `status` and `type`, whose detail contains `needle`.
pub fn assert_problem(answer: &Answer, status: u16, kind: &str, needle: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.headers["content-type"], "application/problem+json");
    assert_eq!(
        answer.body["type"],
        format!("/problems/{kind}"),
        "{}",
        answer.body
    );
    assert_eq!(answer.body["status"], status);
    let detail = answer.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(needle),
        "detail {detail:?} should mention {needle:?}"
    );
}
