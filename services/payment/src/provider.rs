//! The simulated payment provider: authorize + capture in one call, with a
//! configurable latency and decline rate.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::config::Settings;

/// The payment method that is always declined (deterministic tests and demos).
pub const DECLINED_METHOD: &str = "card_declined";

/// A fake card processor.
#[derive(Debug)]
pub struct Provider {
    decline_rate: f64,
    latency: Duration,
    rng: Mutex<StdRng>,
}

impl Provider {
    pub fn new(settings: &Settings) -> Self {
        let rng = match settings.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Self {
            decline_rate: settings.decline_rate.clamp(0.0, 1.0),
            latency: Duration::from_millis(settings.latency_ms),
            rng: Mutex::new(rng),
        }
    }

    /// Authorizes and captures; the provider's payment id, or the decline reason.
    pub async fn charge(&self, payment_method: &str) -> Result<Uuid, String> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        if payment_method == DECLINED_METHOD {
            return Err("card declined".to_owned());
        }
        // `random` is in [0, 1): a rate of 1.0 declines everything, 0.0 nothing.
        let roll: f64 = match self.rng.lock() {
            Ok(mut rng) => rng.random(),
            Err(poisoned) => poisoned.into_inner().random(),
        };
        if roll < self.decline_rate {
            return Err("declined by the issuer".to_owned());
        }
        Ok(Uuid::now_v7())
    }

    /// Refunds a captured payment (the simulation always succeeds).
    pub async fn refund(&self, _payment_id: Uuid) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}
