//! A server on this machine is reached without TLS unless the URL asks for it;
//! an explicit `sslmode` wins. Real PostgreSQL (the test server, on loopback).

use sagaflow_bus::postgres::connect_options;
use sqlx::{Connection, PgConnection};

async fn uses_tls(conn: &mut PgConnection) -> anyhow::Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(conn)
            .await?,
    )
}

#[tokio::test]
async fn loopback_connections_skip_tls_unless_the_url_asks() -> anyhow::Result<()> {
    let url = sagaflow_test_support::pg::server_url();
    if url.contains("sslmode") || std::env::var_os("PGSSLMODE").is_some() {
        return Ok(()); // the test server's URL names a mode itself
    }
    let mut conn = PgConnection::connect_with(&connect_options(&url)?).await?;
    assert!(!uses_tls(&mut conn).await?, "no TLS on loopback by default");
    let server_tls: String = sqlx::query_scalar("SHOW ssl").fetch_one(&mut conn).await?;
    if server_tls == "on" {
        let separator = if url.contains('?') { '&' } else { '?' };
        let asked = format!("{url}{separator}sslmode=require");
        let mut tls = PgConnection::connect_with(&connect_options(&asked)?).await?;
        assert!(uses_tls(&mut tls).await?, "an explicit sslmode wins");
    }
    Ok(())
}
