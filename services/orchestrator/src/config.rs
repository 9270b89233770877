//! Orchestrator settings (flags or environment), validated at start.

use std::net::SocketAddr;

use sagaflow_bus::probe::BrokerHealth;
use sagaflow_service_auth::Secret;

#[derive(clap::Args, Debug, Clone)]
#[group(skip)]
pub struct Settings {
    /// Address of the operator API.
    #[arg(
        id = "orchestrator-listen",
        long = "orchestrator-listen",
        env = "ORCHESTRATOR_LISTEN",
        value_name = "ORCHESTRATOR_LISTEN",
        default_value = "127.0.0.1:8081"
    )]
    pub listen: SocketAddr,

    /// Overrides every step's timeout (milliseconds); for tests and drills.
    #[arg(id = "orchestrator-step-timeout-ms", long = "orchestrator-step-timeout-ms", env = "ORCHESTRATOR_STEP_TIMEOUT_MS", value_name = "ORCHESTRATOR_STEP_TIMEOUT_MS",
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub step_timeout_ms: Option<u64>,

    /// How often due timers are looked for when none is known to be due.
    #[arg(id = "orchestrator-timer-poll-ms", long = "orchestrator-timer-poll-ms", env = "ORCHESTRATOR_TIMER_POLL_MS", value_name = "ORCHESTRATOR_TIMER_POLL_MS",
          default_value_t = 100, value_parser = clap::value_parser!(u64).range(5..=60_000))]
    pub timer_poll_ms: u64,

    /// Consumer worker tasks (partitions are spread over them).
    #[arg(id = "orchestrator-workers", long = "orchestrator-workers", env = "ORCHESTRATOR_WORKERS", value_name = "ORCHESTRATOR_WORKERS",
          default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: u16,

    /// `SAGAFLOW_OPERATOR_JWT_SECRET`, handed over by `sagaflow serve` (which reads
    /// it once for every service): the operator API refuses to start without it.
    #[arg(skip)]
    pub operator_jwt_secret: Option<Secret>,

    /// The process's broker probe (`sagaflow serve` runs it and hands the handle
    /// over): `/readyz` answers 503 while its last probe failed. The default has
    /// never probed and counts as serving.
    #[arg(skip)]
    pub broker_health: BrokerHealth,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            step_timeout_ms: None,
            timer_poll_ms: 100,
            workers: 4,
            operator_jwt_secret: None,
            broker_health: BrokerHealth::default(),
        }
    }
}
