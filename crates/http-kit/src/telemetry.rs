//! Logging setup: key/value fields, JSON lines by default.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber. `LOG_FORMAT=pretty` gives human-readable
/// lines; anything else (the default) gives one JSON object per line.
/// `RUST_LOG` filters (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,refinery_core=warn,tokio_postgres=warn,async_nats=warn")
    });
    let pretty = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("pretty"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if pretty {
        registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init()
    } else {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_file(false)
                    .with_line_number(false)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            )
            .try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
