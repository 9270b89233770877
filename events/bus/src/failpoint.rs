//! Named fault-injection points for crash tests. A point listed in the
//! `SAGAFLOW_FAILPOINTS` environment variable (comma-separated) prints
//! `FAILPOINT <name>` to stderr and parks the task forever, so a test can `kill -9`
//! the process at exactly that moment. Unset in production: a no-op.

use std::sync::LazyLock;
use std::time::Duration;

static ACTIVE: LazyLock<Vec<String>> = LazyLock::new(|| {
    std::env::var("SAGAFLOW_FAILPOINTS")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
});

/// Parks forever if `name` is an active failpoint.
pub async fn hit(name: &str) {
    if ACTIVE.iter().any(|active| active == name) {
        // On stderr, unbuffered: crash tests wait for this line in the log.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("FAILPOINT {name}");
        }
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
}
