//! Lake settings, read from flags or the environment.

/// Where and how often the raw purchase events are written.
///
/// S3 endpoint, region and credentials are not flags: they come from the
/// standard `AWS_*` variables (`AWS_ENDPOINT_URL`, `AWS_REGION`,
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`, ...).
#[derive(clap::Args, Debug, Clone)]
pub struct LakeConfig {
    /// Where the lake lives: `s3://bucket/prefix`, `file:///absolute/path`,
    /// or a plain (relative or absolute) folder path, created if missing.
    #[arg(
        long = "lake-url",
        env = "LAKE_URL",
        value_name = "LAKE_URL",
        default_value = "./lake"
    )]
    pub lake_url: String,

    /// Longest time, in seconds, an event waits in memory before its file
    /// is written (the time roll).
    #[arg(long = "lake-roll-seconds", env = "LAKE_ROLL_SECONDS", value_name = "LAKE_ROLL_SECONDS",
          default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub roll_seconds: u64,

    /// Most events in one roll (the size roll): a backlog drains in rolls
    /// of this many events.
    #[arg(long = "lake-roll-events", env = "LAKE_ROLL_EVENTS", value_name = "LAKE_ROLL_EVENTS",
          default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub roll_events: u64,

    /// Name of the lake's durable JetStream consumer, recreated by the sink
    /// at each start (its progress lives in the analytics database, keyed by
    /// this name): it must differ from ANALYTICS_CONSUMER_NAME.
    #[arg(
        long = "lake-consumer-name",
        env = "LAKE_CONSUMER_NAME",
        value_name = "LAKE_CONSUMER_NAME",
        default_value = "lake"
    )]
    pub consumer_name: String,
}
