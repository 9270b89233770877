//! The broker probe proves a round trip through a real broker, and fails (within
//! its timeout) when the broker is down, then passes again once it is back.

use std::time::Duration;

use sagaflow_bus::KafkaConfig;
use sagaflow_bus::probe::round_trip;
use sagaflow_test_support::Broker;

#[tokio::test]
async fn a_round_trip_through_the_mock_cluster() -> anyhow::Result<()> {
    let broker = Broker::mock()?;
    // The mock cluster has no CreateTopics handler: the probe's own creation
    // fails there and is not needed.
    broker
        .create_topics(&[sagaflow_bus::probe::PROBE_TOPIC], 1)
        .await?;
    let kafka = KafkaConfig::new(broker.bootstrap());
    let first = round_trip(&kafka, Duration::from_secs(20)).await?;
    // The topic exists now; a second probe reuses it.
    let second = round_trip(&kafka, Duration::from_secs(20)).await?;
    assert!(first < Duration::from_secs(20) && second < Duration::from_secs(20));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_broker_fails_the_probe_and_a_restarted_one_passes_it() -> anyhow::Result<()> {
    let mut broker = Broker::local()?;
    let kafka = KafkaConfig::new(broker.bootstrap());
    round_trip(&kafka, Duration::from_secs(30)).await?;
    let local = broker.local_mut().expect("a local broker");
    local.kill();
    let down = round_trip(&kafka, Duration::from_secs(3)).await;
    assert!(down.is_err(), "a dead broker passed the probe");
    local.restart()?;
    let mut last = None;
    for _ in 0..10 {
        match round_trip(&kafka, Duration::from_secs(5)).await {
            Ok(_) => return Ok(()),
            Err(err) => last = Some(err),
        }
    }
    anyhow::bail!("the restarted broker never passed the probe: {last:?}")
}
