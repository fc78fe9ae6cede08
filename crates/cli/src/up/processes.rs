//! Servers `supermarket up` runs as child processes: nats-server (started
//! by [`provision`](super::provision)) and the nginx edge serving the pages
//! and every API on one origin.

use std::path::Path;
use std::time::Duration;

use supermarket_process::find_program;

use super::UpArgs;
use super::services::ServiceAddresses;

/// A server this command started (nats-server, nginx); stopped with SIGTERM at the end.
pub struct ChildServer {
    child: tokio::process::Child,
}

impl ChildServer {
    pub fn new(child: tokio::process::Child) -> ChildServer {
        ChildServer { child }
    }

    /// SIGTERM, then SIGKILL if it has not exited within 5 s.
    pub async fn stop(mut self) {
        // Nothing to do with an error at the very end: the child is killed on drop anyway.
        let _ = supermarket_process::stop(
            &mut self.child,
            supermarket_process::SIGTERM,
            Duration::from_secs(5),
        )
        .await;
    }
}

/// Starts nginx with the repository's edge config (deploy/nginx), rendered
/// for this machine's ports. `None` (with a message) when nginx or the
/// template is missing: the services still run, and the pages are still
/// served directly (POS on purchases, dashboard on the analytics API).
pub async fn start_edge(args: &UpArgs, addresses: &ServiceAddresses) -> Option<ChildServer> {
    let Some(nginx) = find_program("nginx") else {
        println!(
            "note: nginx is not installed (Debian package `nginx`): no edge; the pages are on the services themselves"
        );
        return None;
    };
    let render = Path::new("deploy/nginx/render.sh");
    if !render.is_file() {
        println!(
            "note: deploy/nginx/render.sh not found (run `supermarket up` from the repository root): no edge"
        );
        return None;
    }
    let dir = match std::fs::canonicalize(&args.run_dir) {
        Ok(run) => run.join("nginx"),
        Err(error) => {
            println!("note: no edge: {error}");
            return None;
        }
    };
    let config = dir.join("nginx.conf");
    let rendered = tokio::process::Command::new("sh")
        .arg(render)
        .arg(&config)
        .env("PURCHASES_UPSTREAMS", addresses.purchases.to_string())
        .env("ANALYTICS_UPSTREAMS", addresses.analytics_api.to_string())
        .env("PRODUCTS_UPSTREAMS", addresses.products.to_string())
        .env("HTTP_PORT", "")
        .env("HTTPS_PORT", args.edge_tls_port.to_string())
        .env("PLAIN_PORTS", args.edge_port.to_string())
        .env("NGINX_STATE_DIR", &dir)
        .env("NGINX_ACCESS_LOG", dir.join("access.log"))
        .env("NGINX_ERROR_LOG", dir.join("error.log"))
        .status()
        .await;
    if !matches!(rendered, Ok(status) if status.success()) {
        println!("note: rendering the nginx config failed: no edge");
        return None;
    }
    let spawned = tokio::process::Command::new(nginx)
        .arg("-c")
        .arg(&config)
        .arg("-e")
        .arg(dir.join("error.log"))
        .args(["-g", "daemon off;"])
        .kill_on_drop(true)
        .spawn();
    match spawned {
        Ok(child) => Some(ChildServer::new(child)),
        Err(error) => {
            println!("note: nginx did not start ({error}): no edge");
            None
        }
    }
}
