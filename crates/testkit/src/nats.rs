//! A real NATS JetStream server, with names unique to one test.

pub fn nats_url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A connection plus a stream name, subject prefix and consumer name that
/// no other test uses. The stream is deleted when the test ends.
pub struct TestNats {
    pub url: String,
    pub stream: String,
    pub subject_prefix: String,
    pub consumer: String,
    pub client: async_nats::Client,
}

impl TestNats {
    pub async fn new() -> TestNats {
        let url = nats_url();
        let client = async_nats::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to NATS at {url} (see NATS_URL): {e}"));
        let suffix = crate::unique_suffix();
        TestNats {
            url,
            stream: format!("TEST_PURCHASES_{suffix}"),
            subject_prefix: format!("test_{suffix}.purchases"),
            consumer: format!("test_analytics_{suffix}"),
            client,
        }
    }

    pub fn jetstream(&self) -> async_nats::jetstream::Context {
        async_nats::jetstream::new(self.client.clone())
    }

    /// Deletes the test's stream (call at the end of a test that made one).
    pub async fn cleanup(&self) {
        let _ = self.jetstream().delete_stream(&self.stream).await;
    }
}
