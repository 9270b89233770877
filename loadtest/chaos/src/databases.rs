//! The run's databases: `<prefix>_<service>` on the `--pg-url` server, created
//! fresh when the run spawns the platform, dropped afterwards unless kept; and a
//! small pool per service for the invariant queries.

use std::collections::BTreeMap;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::error::{Error, Result};

/// Every service, in the order they are started (the catalogue first: the others
/// read its products).
pub const SERVICES: [&str; 12] = [
    "catalog",
    "inventory",
    "pricing",
    "payment",
    "order",
    "cart",
    "notification",
    "generation",
    "planner",
    "applications",
    "orchestrator",
    "gateway",
];

/// The run's databases and a pool on each.
pub struct Databases {
    server: PgConnectOptions,
    pub prefix: String,
    pub urls: BTreeMap<&'static str, String>,
    pools: BTreeMap<&'static str, PgPool>,
}

impl Databases {
    /// Names the databases; creates them when `create` (an existing one is an
    /// error then: a chaos run never reuses data).
    pub async fn open(server_url: &str, prefix: &str, create: bool) -> Result<Self> {
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(Error::Config(format!(
                "--db-prefix `{prefix}` must be lowercase letters, digits and `_`"
            )));
        }
        // As the platform connects (no TLS on loopback unless the URL asks): the
        // URLs handed to the services carry the mode chosen here.
        let server: PgConnectOptions = sagaflow_bus::postgres::connect_options(server_url)
            .map_err(|_| Error::Config("--pg-url is not a PostgreSQL URL".into()))?;
        let mut urls = BTreeMap::new();
        if create {
            let mut admin = PgConnection::connect_with(&server).await?;
            for service in SERVICES {
                let name = format!("{prefix}_{service}");
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .await?;
            }
            admin.close().await?;
        }
        let mut pools = BTreeMap::new();
        for service in SERVICES {
            let options = server.clone().database(&format!("{prefix}_{service}"));
            urls.insert(service, options.to_url_lossy().to_string());
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .min_connections(0)
                .connect_lazy_with(options);
            pools.insert(service, pool);
        }
        Ok(Self {
            server,
            prefix: prefix.to_owned(),
            urls,
            pools,
        })
    }

    /// The pool on `service`'s database (lazy: connects on first use).
    pub fn pool(&self, service: &str) -> &PgPool {
        self.pools
            .get(service)
            .unwrap_or_else(|| panic!("unknown service {service}"))
    }

    /// Closes the pools and drops every database of the run.
    pub async fn drop_all(&self) -> Result<()> {
        for pool in self.pools.values() {
            pool.close().await;
        }
        let mut admin = PgConnection::connect_with(&self.server).await?;
        for service in SERVICES {
            let name = format!("{}_{service}", self.prefix);
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await?;
        }
        admin.close().await?;
        Ok(())
    }
}
