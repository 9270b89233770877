//! Crash tests: services as separate `sagaflow` processes on the local (Nisshi) broker,
//! killed with SIGKILL at chosen moments, then restarted.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use common::*;
use sagaflow::platform::{self, Service};
use sagaflow_bus::{KafkaConfig, Outgoing};
use sagaflow_events::messages::{ReserveInventory, StockItem};
use sagaflow_test_support::topics::header;
use sagaflow_test_support::{Broker, TestDb, TopicReader, eventually};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_killed_between_ack_and_mark_sent_redelivers_and_the_inbox_applies_once()
-> anyhow::Result<()> {
    let broker = Broker::local()?;
    create_platform_topics(&broker).await?;
    let sender = TestDb::create("sender").await?;
    sagaflow_bus::migrate::run(&sender.pool, None).await?;
    let inventory = TestDb::create("inventory").await?;
    platform::migrate(Service::Inventory, &inventory.pool).await?;
    sagaflow_inventory::set_stock(&inventory.pool, "MUG", 10).await?;

    let saga = Uuid::now_v7();
    let command = ReserveInventory {
        saga_id: saga,
        items: vec![StockItem {
            sku: "MUG".into(),
            quantity: 1,
        }],
    };
    let out = Outgoing::new(TENANT, Some(saga), saga.to_string(), &command)?;
    let mut tx = sender.pool.begin().await?;
    sagaflow_bus::outbox::enqueue(&mut tx, std::slice::from_ref(&out)).await?;
    tx.commit().await?;

    // A relay that parks right after the broker acknowledged the batch.
    let mut relay = Command::new(env!("CARGO_BIN_EXE_sagaflow"))
        .args([
            "relay",
            "--database-url",
            &sender.url,
            "--kafka-bootstrap-servers",
            &broker.bootstrap(),
        ])
        .env("SAGAFLOW_FAILPOINTS", "relay.after_ack")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = relay.stderr.take().expect("piped");
    let (reached_tx, reached_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("FAILPOINT relay.after_ack") {
                let _ = reached_tx.send(());
            }
        }
    });
    reached_rx.recv_timeout(Duration::from_secs(30))?;
    relay.kill()?;
    relay.wait()?;

    let unsent: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sagaflow_outbox WHERE sent_at IS NULL")
            .fetch_one(&sender.pool)
            .await?;
    assert_eq!(unsent, 1, "killed before marking sent");

    // Restarted without the failpoint: publishes again and marks sent.
    let mut relay = Command::new(env!("CARGO_BIN_EXE_sagaflow"))
        .args([
            "relay",
            "--database-url",
            &sender.url,
            "--kafka-bootstrap-servers",
            &broker.bootstrap(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    eventually("the outbox to drain", Duration::from_secs(30), || async {
        let unsent: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sagaflow_outbox WHERE sent_at IS NULL")
                .fetch_one(&sender.pool)
                .await?;
        Ok(unsent == 0)
    })
    .await?;
    relay.kill()?;
    relay.wait()?;
    let mut reader = TopicReader::new(&broker.bootstrap(), "inventory.commands")?;
    let copies = reader.read_at_least(2, Duration::from_secs(20)).to_vec();
    assert_eq!(copies.len(), 2, "the message was delivered twice");
    let id = out.envelope.message_id.to_string();
    assert!(
        copies
            .iter()
            .all(|m| header(m, "message-id").as_deref() == Some(id.as_str()))
    );

    // The inventory service consumes both copies and applies the effect once.
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(sagaflow_inventory::run(
        inventory.pool.clone(),
        KafkaConfig::new(broker.bootstrap()),
        Default::default(),
        shutdown.clone(),
    ));
    let mut replies = TopicReader::new(&broker.bootstrap(), "inventory.events")?;
    let reply = replies.wait_for(Duration::from_secs(30), |m| {
        header(m, "causation-id").as_deref() == Some(id.as_str())
    });
    assert!(reply.is_some(), "InventoryReserved published");
    eventually("both copies consumed", Duration::from_secs(30), || async {
        let lag: Option<i64> = sqlx::query_scalar("SELECT max(kafka_offset) FROM sagaflow_inbox")
            .fetch_one(&inventory.pool)
            .await?;
        Ok(lag.is_some())
    })
    .await?;
    // Let the duplicate arrive and be skipped.
    replies.read_for(Duration::from_secs(2));
    assert_eq!(
        sagaflow_inventory::stock(&inventory.pool, "MUG").await?,
        Some(9),
        "reserved exactly once"
    );
    let answered = replies
        .seen()
        .iter()
        .filter(|m| header(m, "causation-id").as_deref() == Some(id.as_str()))
        .count();
    assert_eq!(answered, 1, "one reply for two deliveries");
    shutdown.cancel();
    service.await??;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_orchestrator_and_payment_mid_run_loses_nothing() -> anyhow::Result<()> {
    let _serial = exclusive().await;
    sagaflow_test_support::init_tracing();
    let broker = Broker::local()?;
    create_platform_topics(&broker).await?;
    let dbs = Databases::create().await?;
    sagaflow_inventory::set_stock(dbs.pool(Service::Inventory), "MUG", 1000).await?;
    // Restarted consumers get their partitions back once the killed members'
    // sessions end; no rejoin workaround.
    let mut processes = Processes::new(
        broker.bootstrap(),
        vec![("KAFKA_SESSION_TIMEOUT_MS".into(), "6000".into())],
    )?;
    for service in Service::ALL {
        processes.start(service, &dbs)?;
    }
    let http = reqwest::Client::new();
    let gateway = format!("http://{}", processes.gateway);
    eventually("the gateway", Duration::from_secs(30), || async {
        Ok(http.get(format!("{gateway}/healthz")).send().await.is_ok())
    })
    .await?;
    catalogue_ready(&dbs).await?;

    let gate = Arc::new(tokio::sync::Semaphore::new(20));
    let mut requests = tokio::task::JoinSet::new();
    let mut ids = Vec::new();
    for i in 0..200 {
        if i == 80 {
            // Let some sagas get under way, then kill both mid-stream.
            while requests.len() > 40 {
                if let Some(result) = requests.join_next().await {
                    ids.push(result??);
                }
            }
            processes.kill(Service::Orchestrator);
            processes.kill(Service::Payment);
        }
        if i == 120 {
            // Requests kept flowing to the gateway while both were down.
            processes.start(Service::Orchestrator, &dbs)?;
            processes.start(Service::Payment, &dbs)?;
        }
        let method = if i % 10 == 0 { "card_declined" } else { "card" };
        let (http, gateway, gate) = (http.clone(), gateway.clone(), gate.clone());
        requests.spawn(async move {
            let _permit = gate.acquire().await?;
            start_checkout(
                &http,
                &gateway,
                &checkout_body("MUG", 1, method, Uuid::now_v7()),
            )
            .await
        });
    }
    while let Some(result) = requests.join_next().await {
        ids.push(result??);
    }
    assert_eq!(ids.len(), 200);
    let statuses = wait_all_terminal(
        dbs.pool(Service::Orchestrator),
        200,
        Duration::from_secs(300),
    )
    .await?;
    assert_eq!(statuses.get("completed"), Some(&180), "{statuses:?}");
    assert_eq!(statuses.get("compensated"), Some(&20), "{statuses:?}");

    for id in &ids {
        let payments = sagaflow_payment::payments_for(dbs.pool(Service::Payment), *id).await?;
        let refunds = sagaflow_payment::refunds_for(dbs.pool(Service::Payment), *id).await?;
        assert!(
            payments.len() <= 1 && refunds.len() <= 1,
            "saga {id}: {payments:?} {refunds:?}"
        );
    }
    assert_eq!(
        sagaflow_payment::captured_count(dbs.pool(Service::Payment)).await?,
        180,
        "no double charge"
    );
    assert_eq!(
        sagaflow_inventory::stock(dbs.pool(Service::Inventory), "MUG").await?,
        Some(820),
        "no lost or doubled reservation"
    );
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders WHERE status = 'created'")
        .fetch_one(dbs.pool(Service::Order))
        .await?;
    assert_eq!(orders, 180);
    let notified: i64 = sqlx::query_scalar("SELECT count(*) FROM sent_notifications")
        .fetch_one(dbs.pool(Service::Notification))
        .await?;
    assert_eq!(notified, 180, "every completed saga notified once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_timeout_compensates_even_across_an_orchestrator_restart() -> anyhow::Result<()> {
    let _serial = exclusive().await;
    let broker = Broker::local()?;
    create_platform_topics(&broker).await?;
    let dbs = Databases::create().await?;
    sagaflow_inventory::set_stock(dbs.pool(Service::Inventory), "MUG", 10).await?;
    let mut processes = Processes::new(
        broker.bootstrap(),
        vec![
            ("ORCHESTRATOR_STEP_TIMEOUT_MS".into(), "2000".into()),
            ("KAFKA_SESSION_TIMEOUT_MS".into(), "6000".into()),
        ],
    )?;
    // Payment is down: take_payment cannot complete.
    for service in Service::ALL.into_iter().filter(|s| *s != Service::Payment) {
        processes.start(service, &dbs)?;
    }
    let http = reqwest::Client::new();
    let gateway = format!("http://{}", processes.gateway);
    eventually("the gateway", Duration::from_secs(30), || async {
        Ok(http.get(format!("{gateway}/healthz")).send().await.is_ok())
    })
    .await?;
    catalogue_ready(&dbs).await?;
    let id = start_checkout(
        &http,
        &gateway,
        &checkout_body("MUG", 2, "card", Uuid::now_v7()),
    )
    .await?;
    let orchestrator = dbs.pool(Service::Orchestrator).clone();
    eventually(
        "take_payment to be sent",
        Duration::from_secs(60),
        || async {
            let log = saga_log(&orchestrator, id).await?;
            Ok(log
                .iter()
                .any(|(k, s)| k == "command_sent" && s.as_deref() == Some("take_payment")))
        },
    )
    .await?;
    // The orchestrator dies while the deadline is pending and stays down past it:
    // only the timer row in its database remembers the deadline.
    processes.kill(Service::Orchestrator);
    eventually(
        "the step's deadline to pass",
        Duration::from_secs(30),
        || async {
            let due: Option<bool> = sqlx::query_scalar(
                "SELECT bool_and(fire_at < now()) FROM saga_timeouts WHERE saga_id = $1",
            )
            .bind(id)
            .fetch_one(&orchestrator)
            .await?;
            Ok(due == Some(true))
        },
    )
    .await?;
    processes.start(Service::Orchestrator, &dbs)?;
    eventually(
        "the step to be abandoned",
        Duration::from_secs(60),
        || async {
            let log = saga_log(&orchestrator, id).await?;
            Ok(log.iter().any(|(k, _)| k == "step_abandoned"))
        },
    )
    .await?;
    // Payment comes back: it sees the stale charges and the refund, in order.
    processes.start(Service::Payment, &dbs)?;
    let view = wait_terminal(&http, &gateway, id, Duration::from_secs(90)).await?;
    assert_eq!(view["status"], "compensated", "{view}");
    let log = saga_log(&orchestrator, id).await?;
    let timeouts = log
        .iter()
        .filter(|(k, s)| k == "step_timed_out" && s.as_deref() == Some("take_payment"))
        .count();
    assert!(timeouts >= 1, "{log:?}");
    assert_eq!(
        sagaflow_inventory::stock(dbs.pool(Service::Inventory), "MUG").await?,
        Some(10)
    );
    assert_eq!(
        sagaflow_payment::captured_count(dbs.pool(Service::Payment)).await?,
        0,
        "nothing stays charged"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_restarted_within_its_session_timeout_rejoins_on_nisshi() -> anyhow::Result<()> {
    let _serial = exclusive().await;
    let broker = Broker::local()?;
    create_platform_topics(&broker).await?;
    let dbs = Databases::create().await?;
    sagaflow_inventory::set_stock(dbs.pool(Service::Inventory), "MUG", 10).await?;
    let mut processes = Processes::new(
        broker.bootstrap(),
        vec![("KAFKA_SESSION_TIMEOUT_MS".into(), "6000".into())],
    )?;
    for service in Service::ALL {
        processes.start(service, &dbs)?;
    }
    let http = reqwest::Client::new();
    let gateway = format!("http://{}", processes.gateway);
    eventually("the gateway", Duration::from_secs(30), || async {
        Ok(http.get(format!("{gateway}/healthz")).send().await.is_ok())
    })
    .await?;
    catalogue_ready(&dbs).await?;
    let first = start_checkout(
        &http,
        &gateway,
        &checkout_body("MUG", 1, "card", Uuid::now_v7()),
    )
    .await?;
    assert_eq!(
        wait_terminal(&http, &gateway, first, Duration::from_secs(60)).await?["status"],
        "completed"
    );

    // Killed and back within the session timeout, while the broker still counts
    // the dead member: the new member must get to work without the rejoin
    // workaround (KAFKA_REJOIN_IDLE_MS stays 0). Tansu 0.6 gave it no partitions.
    processes.kill(Service::Orchestrator);
    // Not a condition but the window that triggered Tansu 0.6's bug: a replacement
    // that joins ~3 s after the kill (earlier, it simply takes over; after the
    // session timeout, the dead member is gone) was given no partitions.
    tokio::time::sleep(Duration::from_secs(3)).await;
    processes.start(Service::Orchestrator, &dbs)?;
    let second = start_checkout(
        &http,
        &gateway,
        &checkout_body("MUG", 1, "card", Uuid::now_v7()),
    )
    .await?;
    let view = wait_terminal(&http, &gateway, second, Duration::from_secs(90)).await?;
    assert_eq!(view["status"], "completed", "{view}");
    Ok(())
}

/// `SendNotification`s for `reminder` in the applications outbox.
async fn reminder_messages(applications: &sqlx::PgPool, reminder: Uuid) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM sagaflow_outbox
         WHERE message_type = 'SendNotification' AND partition_key = $1",
    )
    .bind(reminder.to_string())
    .fetch_one(applications)
    .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_reminder_fires_after_its_delay_across_a_restart_once() -> anyhow::Result<()> {
    let default = if sagaflow_test_support::local_broker::binary().exists() {
        "local"
    } else {
        "mock"
    };
    let platform =
        Platform::start_except(Broker::from_env_or(default)?, &[Service::Applications]).await?;
    let mut processes = Processes::new(
        platform.broker.bootstrap(),
        vec![
            ("APPLICATIONS_REMINDER_POLL_MS".into(), "200".into()),
            ("KAFKA_SESSION_TIMEOUT_MS".into(), "6000".into()),
        ],
    )?;
    processes.applications = platform.settings.applications.listen;
    processes.start(Service::Applications, &platform.dbs)?;
    let gateway = &platform.gateway;
    let http = &platform.http;
    let call = |method: reqwest::Method, path: String, body: serde_json::Value| async move {
        let response = http
            .request(method, format!("{gateway}{path}"))
            .header("Authorization", bearer())
            .json(&body)
            .send()
            .await?;
        let status = response.status().as_u16();
        anyhow::Ok((status, response.json::<serde_json::Value>().await?))
    };
    let application = std::sync::Mutex::new(None);
    eventually(
        "the applications service",
        Duration::from_secs(30),
        || async {
            let (status, body) = call(
                reqwest::Method::POST,
                "/v1/applications".into(),
                serde_json::json!({"company": "Żabka", "role": "Platform Engineer"}),
            )
            .await?;
            if status == 201 {
                *application.lock().expect("not poisoned") = body["id"].as_str().map(str::to_owned);
            }
            Ok(status == 201)
        },
    )
    .await?;
    let application = application
        .into_inner()
        .expect("not poisoned")
        .expect("created");
    let due = chrono::Utc::now() + chrono::Duration::seconds(4);
    let (status, reminder) = call(
        reqwest::Method::POST,
        format!("/v1/applications/{application}/reminders"),
        serde_json::json!({"due_at": due.to_rfc3339(), "note": "Ask about on-call"}),
    )
    .await?;
    assert_eq!(status, 201, "{reminder}");
    let reminder: Uuid = reminder["id"].as_str().unwrap_or_default().parse()?;

    // The service dies before the reminder is due and stays down past it: only its
    // row in the applications database remembers it.
    processes.kill(Service::Applications);
    let applications = platform.pool(Service::Applications).clone();
    tokio::time::sleep_until(
        tokio::time::Instant::now()
            + (due - chrono::Utc::now()).to_std().unwrap_or_default()
            + Duration::from_secs(1),
    )
    .await;
    assert_eq!(reminder_messages(&applications, reminder).await?, 0);
    processes.start(Service::Applications, &platform.dbs)?;
    let notifications = platform.pool(Service::Notification).clone();
    eventually(
        "the reminder's notification",
        Duration::from_secs(60),
        || async {
            Ok(sagaflow_notification::sent(&notifications, reminder)
                .await?
                .is_some())
        },
    )
    .await?;
    let sent = sagaflow_notification::sent(&notifications, reminder)
        .await?
        .expect("sent");
    assert_eq!(sent.subject, "Follow up: Platform Engineer at Żabka");
    assert!(sent.body.ends_with("Ask about on-call"), "{sent:?}");

    // Once: another restart and a few scheduler rounds later, still one message and
    // one notification for the user.
    processes.kill(Service::Applications);
    processes.start(Service::Applications, &platform.dbs)?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(reminder_messages(&applications, reminder).await?, 1);
    let delivered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sent_notifications WHERE subject = $1")
            .bind(&sent.subject)
            .fetch_one(&notifications)
            .await?;
    assert_eq!(delivered, 1);
    processes.kill(Service::Applications);
    platform.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_every_service_within_10_seconds_and_loses_no_message() -> anyhow::Result<()>
{
    let _serial = exclusive().await;
    let default = if sagaflow_test_support::local_broker::binary().exists() {
        "local"
    } else {
        "mock"
    };
    let broker = Broker::from_env_or(default)?;
    create_platform_topics(&broker).await?;
    let dbs = Databases::create().await?;
    let inventory = dbs.pool(Service::Inventory).clone();
    sagaflow_inventory::set_stock(&inventory, "MUG", 100).await?;
    let mut processes = Processes::new(
        broker.bootstrap(),
        vec![
            ("RUST_LOG".into(), "info".into()),
            ("KAFKA_SESSION_TIMEOUT_MS".into(), "6000".into()),
        ],
    )?;
    for service in Service::ALL {
        processes.start(service, &dbs)?;
    }
    let started = |service: Service| {
        let log = processes.log_dir.join(format!("{}.log", service.name()));
        move || {
            let log = log.clone();
            async move { Ok(std::fs::read_to_string(&log).is_ok_and(|text| text.contains("starting"))) }
        }
    };
    for service in Service::ALL {
        eventually(
            &format!("{} to start", service.name()),
            Duration::from_secs(60),
            started(service),
        )
        .await?;
    }

    // Past start-up: consumers joined, listeners bound.
    tokio::time::sleep(Duration::from_secs(5)).await;

    // Work in flight for the inventory service when SIGTERM arrives.
    let kafka = KafkaConfig::new(broker.bootstrap());
    let producer: rdkafka::producer::FutureProducer = kafka.producer().create()?;
    let mut sagas = Vec::new();
    for _ in 0..20 {
        let saga = Uuid::now_v7();
        let command = ReserveInventory {
            saga_id: saga,
            items: vec![StockItem {
                sku: "MUG".into(),
                quantity: 1,
            }],
        };
        let out = Outgoing::new(TENANT, Some(saga), saga.to_string(), &command)?;
        sagaflow_bus::testing::produce(&producer, &out).await?;
        sagas.push(saga);
    }

    let mut slowest = Duration::ZERO;
    for service in Service::ALL {
        let (took, status) = processes.terminate(service, Duration::from_secs(10))?;
        let status = status
            .with_context(|| format!("{} still running 10 s after SIGTERM", service.name()))?;
        assert!(status.success(), "{} exited with {status}", service.name());
        slowest = slowest.max(took);
    }
    assert!(slowest < Duration::from_secs(10), "{slowest:?}");

    // Whatever inventory had not handled is handled after its restart, once each.
    processes.start(Service::Inventory, &dbs)?;
    eventually("every reservation", Duration::from_secs(60), || async {
        Ok(sagaflow_inventory::stock(&inventory, "MUG").await? == Some(80))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sagaflow_inventory::stock(&inventory, "MUG").await?,
        Some(80),
        "20 reservations of one MUG, each applied once"
    );
    processes.kill(Service::Inventory);
    Ok(())
}
