//! The six services of `supermarket up`, run as tasks of this process with
//! the settings `supermarket serve …` would read: where each listens
//! ([`ServiceAddresses`]), the settings they share, starting them and
//! watching them until the end.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches, Parser};
use supermarket_process::non_empty_env;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::credentials::Credentials;

/// Where each service listens, one field per service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceAddresses {
    pub purchases: SocketAddr,
    pub analytics_api: SocketAddr,
    pub products: SocketAddr,
    pub relay: SocketAddr,
    pub analytics_consumer: SocketAddr,
    pub lake_sink: SocketAddr,
}

impl ServiceAddresses {
    /// Each address from its variable (`PURCHASES_ADDR`, …), else `host`
    /// with the port of `supermarket serve`.
    pub fn from_env(host: IpAddr) -> anyhow::Result<ServiceAddresses> {
        let unset = SocketAddr::new(host, 0);
        let mut addresses = ServiceAddresses {
            purchases: unset,
            analytics_api: unset,
            products: unset,
            relay: unset,
            analytics_consumer: unset,
            lake_sink: unset,
        };
        for (variable, port, addr) in addresses.listeners() {
            *addr = match non_empty_env(variable) {
                Some(text) => text.parse::<SocketAddr>().with_context(|| {
                    format!("{variable} `{text}` is not an address like 127.0.0.1:8000")
                })?,
                None => SocketAddr::new(host, port),
            };
        }
        Ok(addresses)
    }

    /// Each address with the variable that sets it and its default port:
    /// the one list to extend when a service is added.
    fn listeners(&mut self) -> [(&'static str, u16, &mut SocketAddr); 6] {
        [
            ("PURCHASES_ADDR", 8000, &mut self.purchases),
            ("ANALYTICS_ADDR", 8001, &mut self.analytics_api),
            ("PRODUCTS_ADDR", 8002, &mut self.products),
            ("RELAY_ADDR", 8003, &mut self.relay),
            ("CONSUMER_ADDR", 8004, &mut self.analytics_consumer),
            ("LAKE_SINK_ADDR", 8005, &mut self.lake_sink),
        ]
    }

    /// `(variable, address)` of every service, as settings to pass on.
    pub fn variables(&self) -> Vec<(&'static str, SocketAddr)> {
        let mut copy = *self;
        copy.listeners()
            .into_iter()
            .map(|(variable, _, addr)| (variable, *addr))
            .collect()
    }

    /// Every address, in the order of [`Self::variables`].
    pub fn all(&self) -> Vec<SocketAddr> {
        self.variables().into_iter().map(|(_, addr)| addr).collect()
    }

    /// Where this machine reaches each service (for the edge, the readiness
    /// wait and the banner): a service bound to every interface on loopback.
    pub fn reachable(&self) -> ServiceAddresses {
        let mut local = *self;
        for (_, _, addr) in local.listeners() {
            if addr.ip().is_unspecified() {
                *addr = SocketAddr::from(([127, 0, 0, 1], addr.port()));
            }
        }
        local
    }
}

/// Settings given to every service (and to the loader), as
/// `(environment variable, value)`.
pub type SharedSettings = Vec<(&'static str, String)>;

/// The settings every service is started with: databases, NATS, the lake,
/// the tokens and where each service listens.
pub fn shared_settings(
    oltp_url: &str,
    analytics_url: &str,
    nats_url: &str,
    lake_dir: &std::path::Path,
    credentials: Option<&Credentials>,
    addresses: &ServiceAddresses,
) -> SharedSettings {
    let mut shared: SharedSettings = vec![
        ("DATABASE_URL", oltp_url.to_owned()),
        ("ANALYTICS_DATABASE_URL", analytics_url.to_owned()),
        ("NATS_URL", nats_url.to_owned()),
    ];
    if non_empty_env("LAKE_URL").is_none() {
        shared.push(("LAKE_URL", lake_dir.display().to_string()));
    }
    if let Some(credentials) = credentials {
        shared.push(("OWNER_TOKEN", credentials.owner.clone()));
        shared.push(("CASHIER_TOKEN", credentials.cashier.clone()));
    }
    for (variable, addr) in addresses.variables() {
        shared.push((variable, addr.to_string()));
    }
    shared
}

/// Parses a service's settings as `supermarket serve …` would, with the
/// values of `shared` given as the flags that read those environment
/// variables (so only the settings a service has are passed to it), plus
/// `extra` arguments. Other settings still come from the environment.
pub fn settings<T: Args + FromArgMatches>(
    service: &str,
    shared: &[(&str, String)],
    extra: &[&str],
) -> anyhow::Result<T> {
    #[derive(Parser)]
    #[command(name = "supermarket up")]
    struct Wrapper<T: Args + FromArgMatches> {
        #[command(flatten)]
        inner: T,
    }
    let command = Wrapper::<T>::command();
    let mut argv = vec!["supermarket-up".to_owned()];
    for (variable, value) in shared {
        let flag = command
            .get_arguments()
            .find(|arg| arg.get_env().is_some_and(|env| env == *variable))
            .and_then(|arg| arg.get_long());
        if let Some(long) = flag {
            argv.push(format!("--{long}={value}"));
        }
    }
    argv.extend(extra.iter().map(|s| (*s).to_owned()));
    let parsed = Wrapper::<T>::try_parse_from(argv)
        .map_err(|error| anyhow::anyhow!("settings of {service}: {}", error.render()))?;
    Ok(parsed.inner)
}

/// The running services: each task ends with its name and result.
pub type ServiceTasks = JoinSet<(&'static str, anyhow::Result<()>)>;

/// Starts every service as a task; all settings are read before the first starts.
pub fn start(
    shared: &SharedSettings,
    shutdown: &CancellationToken,
) -> anyhow::Result<ServiceTasks> {
    let mut tasks = ServiceTasks::new();
    let purchases: supermarket_purchases::Config = settings("purchases", shared, &[])?;
    let analytics_api: supermarket_analytics::api::Config = settings("analytics-api", shared, &[])?;
    let products: supermarket_products::Config = settings("products", shared, &[])?;
    let relay: supermarket_relay::Config = settings("relay", shared, &[])?;
    let consumer: supermarket_analytics::consumer::Config =
        settings("analytics-consumer", shared, &[])?;
    let lake_sink: supermarket_lake::service::Config = settings("lake-sink", shared, &[])?;
    let token = shutdown.clone();
    tasks.spawn(async move {
        (
            "purchases",
            supermarket_purchases::run(purchases, token).await,
        )
    });
    let token = shutdown.clone();
    tasks.spawn(async move {
        (
            "analytics-api",
            supermarket_analytics::api::run(analytics_api, token).await,
        )
    });
    let token = shutdown.clone();
    tasks.spawn(async move { ("products", supermarket_products::run(products, token).await) });
    let token = shutdown.clone();
    tasks.spawn(async move { ("relay", supermarket_relay::run(relay, token).await) });
    let token = shutdown.clone();
    tasks.spawn(async move {
        (
            "analytics-consumer",
            supermarket_analytics::consumer::run(consumer, token).await,
        )
    });
    let token = shutdown.clone();
    tasks.spawn(async move {
        (
            "lake-sink",
            supermarket_lake::service::run(lake_sink, token).await,
        )
    });
    Ok(tasks)
}

/// Waits for every service to end. One that fails, panics or stops on its
/// own before shutdown stops all the others; the exit code says whether any did.
pub async fn supervise(mut tasks: ServiceTasks, shutdown: &CancellationToken) -> ExitCode {
    let mut failed = false;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((_, Ok(()))) if shutdown.is_cancelled() => {}
            Ok((name, Ok(()))) => {
                eprintln!("error: {name} stopped on its own; stopping everything");
                failed = true;
                shutdown.cancel();
            }
            Ok((name, Err(error))) => {
                eprintln!("error: {name} failed: {error:#}; stopping everything");
                failed = true;
                shutdown.cancel();
            }
            Err(error) => {
                eprintln!("error: a service task panicked: {error}; stopping everything");
                failed = true;
                shutdown.cancel();
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_passed_only_to_services_that_have_them() {
        let shared = [
            ("PRODUCTS_ADDR", "127.0.0.1:9999".to_owned()),
            ("NOT_A_SETTING", "x".to_owned()),
            ("DATABASE_URL", "postgres://x@h/db".to_owned()),
        ];
        let config: supermarket_products::Config = settings("products", &shared, &[]).unwrap();
        assert_eq!(config.addr, SocketAddr::from(([127, 0, 0, 1], 9999)));
    }

    #[test]
    fn a_service_bound_to_every_interface_is_reached_on_loopback() {
        let any = SocketAddr::from(([0, 0, 0, 0], 8000));
        let here = SocketAddr::from(([192, 0, 2, 1], 8001));
        let addresses = ServiceAddresses {
            purchases: any,
            analytics_api: here,
            products: any,
            relay: any,
            analytics_consumer: any,
            lake_sink: any,
        };
        let reachable = addresses.reachable();
        assert_eq!(
            reachable.purchases,
            SocketAddr::from(([127, 0, 0, 1], 8000))
        );
        assert_eq!(reachable.analytics_api, here);
        assert_eq!(addresses.variables()[0], ("PURCHASES_ADDR", any));
    }
}
