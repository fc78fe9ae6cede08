//! What `supermarket up` prints once every service answers: the pages, the
//! APIs and the tokens to sign in with.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::credentials::Credentials;
use super::services::ServiceAddresses;

/// Waits until every address accepts connections; false when cancelled or timed out.
pub async fn wait_for_ports(
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

/// The banner: `edge` is `(plain port, TLS port)` when nginx runs.
pub fn print(
    addresses: &ServiceAddresses,
    edge: Option<(u16, u16)>,
    credentials: Option<&Credentials>,
    file: &Path,
) {
    let url = |addr: SocketAddr| format!("http://{}:{}", addr.ip(), addr.port());
    let purchases = url(addresses.purchases);
    let analytics = url(addresses.analytics_api);
    println!();
    println!("Supermarket is up.");
    if let Some((plain, tls)) = edge {
        println!(
            "  POS (cashier)       http://127.0.0.1:{plain}/pos      (or https://127.0.0.1:{tls}/pos, self-signed)"
        );
        println!("  Dashboard (owner)   http://127.0.0.1:{plain}/dashboard");
        println!("  Edge (nginx)        every API below on http://127.0.0.1:{plain} too");
    } else {
        println!("  Pages (no edge)     {purchases}/pos   {analytics}/dashboard");
    }
    println!("  Purchases API       {purchases}/api/v1/purchases   docs {purchases}/docs");
    println!(
        "  Analytics API       {analytics}/unique-customers   {analytics}/api/v1/analytics/kpis"
    );
    println!(
        "  Products API        {}/api/v1/products",
        url(addresses.products)
    );
    println!(
        "  Metrics             relay {}/metrics   consumer {}/metrics   lake {}/metrics",
        url(addresses.relay),
        url(addresses.analytics_consumer),
        url(addresses.lake_sink)
    );
    match credentials {
        Some(Credentials { owner, cashier }) => {
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
