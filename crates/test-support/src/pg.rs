//! A fresh PostgreSQL database per test.

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

/// The server's admin URL for tests.
pub fn server_url() -> String {
    std::env::var("SAGAFLOW_TEST_PG_URL")
        .or_else(|_| std::env::var("DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database created for one test, left behind for inspection (named `sf_t_*`);
/// `scripts` drop old ones.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDb {
    /// Creates `sf_t_<label>_<random>` and connects a pool to it.
    pub async fn create(label: &str) -> anyhow::Result<Self> {
        let admin_url = server_url();
        let name = format!(
            "sf_t_{}_{}",
            label.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {admin_url}"))?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .context("creating the test database")?;
        admin.close().await.ok();
        let options: PgConnectOptions = admin_url.parse::<PgConnectOptions>()?.database(&name);
        let url = options.to_url_lossy().to_string();
        let pool = PgPoolOptions::new()
            // Enough for one service's consumer workers, relay, listener and HTTP;
            // small enough that a whole platform stays well under max_connections.
            .max_connections(10)
            .connect_with(options)
            .await?;
        Ok(Self { name, url, pool })
    }
}
