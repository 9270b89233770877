//! One way to run a service: its components (HTTP server, outbox relay, inbox
//! consumer, timer loop, housekeeping) run side by side under a [`Supervisor`]
//! until the shutdown token is cancelled or one of them fails.
//!
//! A failing component does not drop its siblings mid-flight, as `try_join!`
//! would (a relay between the broker's ack and its mark-sent, a consumer between
//! its transaction and its offset commit): the supervisor cancels the token every
//! component watches, waits for all of them to wind down, logs every failure and
//! returns the first. [`Supervisor::participant`] adds the pair every saga
//! participant runs: its outbox relay and its command consumer.

use std::future::Future;
use std::pin::Pin;

use tokio_util::sync::CancellationToken;
use tracing::error;

use crate::{Error, Handler, InboxConsumer, Relay};

/// Any component's error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type Component<'a> = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>>;

/// A component of a service failed; its siblings were stopped.
#[derive(Debug, thiserror::Error)]
#[error("{service}: the {component} failed")]
pub struct ComponentFailed {
    pub service: &'static str,
    pub component: &'static str,
    #[source]
    pub source: BoxError,
}

/// The named components of one service and the token that stops them all.
pub struct Supervisor<'a> {
    service: &'static str,
    stop: CancellationToken,
    components: Vec<(&'static str, Component<'a>)>,
}

impl<'a> Supervisor<'a> {
    /// A supervisor for `service` whose components stop when `shutdown` is
    /// cancelled (or when one of them fails; `shutdown` itself is left alone).
    pub fn new(service: &'static str, shutdown: &CancellationToken) -> Self {
        Self {
            service,
            stop: shutdown.child_token(),
            components: Vec::new(),
        }
    }

    /// The token each component must watch to wind down.
    pub fn token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Adds a component; it should return once [`Self::token`] is cancelled.
    pub fn add<F, E>(&mut self, name: &'static str, component: F) -> &mut Self
    where
        F: Future<Output = Result<(), E>> + Send + 'a,
        E: Into<BoxError>,
    {
        self.components.push((
            name,
            Box::pin(async move { component.await.map_err(Into::into) }),
        ));
        self
    }

    /// Adds a component that cannot fail (a polling loop that logs and retries
    /// its own errors); it should return once [`Self::token`] is cancelled.
    pub fn add_loop<F>(&mut self, name: &'static str, component: F) -> &mut Self
    where
        F: Future<Output = ()> + Send + 'a,
    {
        self.add(name, async move {
            component.await;
            Ok::<_, BoxError>(())
        })
    }

    /// Adds a saga participant's command `consumer` and the outbox relay that
    /// publishes what its handler writes (same database, same Kafka settings).
    pub fn participant<H: Handler>(
        &mut self,
        consumer: InboxConsumer<H>,
    ) -> Result<&mut Self, Error> {
        let relay = Relay::new(consumer.pool().clone(), consumer.kafka())?;
        let stop = self.token();
        self.add("outbox relay", relay.run(stop.clone()));
        self.add("inbox consumer", consumer.run(stop));
        Ok(self)
    }

    /// Runs every component until all have returned. The first failure cancels
    /// the others and is returned, naming the component, once they have stopped.
    pub async fn run(self) -> Result<(), ComponentFailed> {
        let Self {
            service,
            stop,
            components,
        } = self;
        let runs = components.into_iter().map(|(name, component)| {
            let stop = stop.clone();
            async move {
                component.await.map_err(|source| {
                    error!(service, component = name, error = %source,
                        "component failed; stopping the others");
                    stop.cancel();
                    ComponentFailed {
                        service,
                        component: name,
                        source,
                    }
                })
            }
        });
        futures::future::join_all(runs).await.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_failure_stops_the_siblings_cleanly_and_names_the_component() {
        let shutdown = CancellationToken::new();
        let wound_down = Arc::new(AtomicBool::new(false));
        let mut supervisor = Supervisor::new("svc", &shutdown);
        let (stop, flag) = (supervisor.token(), wound_down.clone());
        supervisor.add("worker", async move {
            stop.cancelled().await;
            // The sibling finishes its work after the cancel instead of being dropped.
            tokio::task::yield_now().await;
            flag.store(true, Ordering::SeqCst);
            Ok::<_, BoxError>(())
        });
        supervisor.add("broken", async { Err::<(), _>(BoxError::from("boom")) });

        let err = tokio::time::timeout(std::time::Duration::from_secs(5), supervisor.run())
            .await
            .expect("the supervisor stops")
            .expect_err("the failure is returned");
        assert_eq!((err.service, err.component), ("svc", "broken"));
        assert_eq!(err.source.to_string(), "boom");
        assert!(wound_down.load(Ordering::SeqCst), "the sibling wound down");
        assert!(!shutdown.is_cancelled(), "the caller's token is left alone");
    }

    #[tokio::test]
    async fn shutdown_stops_every_component_and_returns_ok() {
        let shutdown = CancellationToken::new();
        let mut supervisor = Supervisor::new("svc", &shutdown);
        for name in ["a", "b", "c"] {
            let stop = supervisor.token();
            supervisor.add(name, async move {
                stop.cancelled().await;
                Ok::<_, BoxError>(())
            });
        }
        shutdown.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(5), supervisor.run())
            .await
            .expect("the supervisor stops")
            .expect("a clean stop");
    }
}
