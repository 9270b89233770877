//! PostgreSQL connection options as every Sagaflow process builds them: from a URL,
//! with TLS turned off for a server on this machine (a loopback address or
//! `localhost`) unless the URL or `PGSSLMODE` asks for a mode. On loopback, TLS
//! only costs: a handshake per connection and encryption per round trip, with
//! nothing on the wire to protect. An explicit `sslmode` always wins.

use std::net::IpAddr;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

/// Options for `url`; see the module docs for the TLS default.
pub fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    let asked = url_names_ssl_mode(url) || std::env::var_os("PGSSLMODE").is_some();
    if asked || options.get_socket().is_some() || !is_loopback(options.get_host()) {
        return Ok(options);
    }
    Ok(options.ssl_mode(PgSslMode::Disable))
}

/// Whether `url`'s query names an SSL mode (`sslmode` or `ssl-mode`).
fn url_names_ssl_mode(url: &str) -> bool {
    let Some((_, query)) = url.split_once('?') else {
        return false;
    };
    query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .any(|key| key.eq_ignore_ascii_case("sslmode") || key.eq_ignore_ascii_case("ssl-mode"))
}

/// `localhost`, or an address in 127.0.0.0/8 or `::1`.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str) -> PgSslMode {
        connect_options(url).expect("a valid URL").get_ssl_mode()
    }

    #[test]
    fn loopback_without_a_mode_goes_without_tls_and_an_explicit_mode_wins() {
        if std::env::var_os("PGSSLMODE").is_some() {
            return; // the environment names a mode: nothing to default
        }
        for url in [
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://postgres@127.0.0.7/db",
            "postgres://u:p@localhost/db?application_name=x",
            "postgres://postgres@[::1]:5432/postgres",
        ] {
            assert!(matches!(mode(url), PgSslMode::Disable), "{url}");
        }
        assert!(matches!(
            mode("postgres://postgres@127.0.0.1/db?sslmode=require"),
            PgSslMode::Require
        ));
        assert!(matches!(
            mode("postgres://postgres@localhost/db?application_name=x&ssl-mode=verify-full"),
            PgSslMode::VerifyFull
        ));
        // A remote server keeps sqlx's default (prefer).
        assert!(matches!(
            mode("postgres://postgres@db.internal:5432/app"),
            PgSslMode::Prefer
        ));
        assert!(matches!(
            mode("postgres://postgres@10.1.2.3/app"),
            PgSslMode::Prefer
        ));
    }
}
