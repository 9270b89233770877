//! A tiny bounded chaos run through the library entry point: the whole platform as
//! separate processes (two replicas of the gateway, the orchestrator and every
//! participant), 20 checkouts, 2 SIGKILLs of participant processes, duplicates and
//! poison, on fresh databases named with a unique prefix (so a running platform is
//! not touched). Asserts zero violations and that the counts add up.
//!
//! Needs `target/debug/sagaflow` (`cargo build -p sagaflow --locked`) and the
//! PostgreSQL server of `SAGAFLOW_TEST_PG_URL` (default the local one). The broker
//! is the local broker (Nisshi) when `.tools/bin/nisshi` (or `SAGAFLOW_BROKER_BIN`) exists, else
//! librdkafka's mock cluster in this process (real Kafka protocol over TCP; it
//! cannot be killed, and kills target participants anyway).

// Prints what it measures, for `--nocapture`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::time::Duration;

use sagaflow_chaos::RunArgs;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("workspace root")
        .to_path_buf()
}

fn local_broker() -> Option<PathBuf> {
    std::env::var_os("SAGAFLOW_BROKER_BIN")
        .map(PathBuf::from)
        .or_else(|| Some(workspace().join(".tools/bin/nisshi")))
        .filter(|p| p.is_file())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_run_with_participant_kills_violates_nothing() {
    let bin = workspace().join("target/debug/sagaflow");
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build -p sagaflow --locked`",
        bin.display()
    );
    let mut args = RunArgs::defaults();
    args.sagaflow_bin = Some(bin);
    args.pg_url = std::env::var("SAGAFLOW_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let unique = uuid::Uuid::new_v4().simple().to_string();
    args.db_prefix = Some(format!("sf_t_chaos_{}", &unique[..10]));
    args.checkouts = 20;
    args.rate = 4.0;
    args.kills = 2;
    args.kill_targets = vec!["participants".into()];
    args.duplicates = 6;
    args.poison = 2;
    args.users = 5;
    args.decline_percent = 20;
    args.seed = Some(12);
    args.settle_timeout_secs = 90;
    args.duration_limit_secs = 170;
    args.run_dir = Some(workspace().join(".data/chaos-test").join(&unique[..10]));
    match local_broker() {
        Some(path) => args.broker_bin = Some(path),
        None => {
            eprintln!("no local broker binary: running on librdkafka's mock cluster");
            args.mock_broker = true;
        }
    }

    let started = std::time::Instant::now();
    let report = sagaflow_chaos::run(args).await.expect("the run completes");
    println!("{}", report.render());
    assert!(started.elapsed() < Duration::from_secs(180));

    let s = &report.summary;
    assert_eq!(report.violations(), 0, "violations:\n{}", report.render());
    assert_eq!(s.checkouts_requested, 20);
    assert_eq!(
        s.accepted + s.refused + s.gave_up,
        20,
        "every checkout is accounted for"
    );
    assert!(
        s.accepted >= 18,
        "the gateway accepted {} of 20",
        s.accepted
    );
    assert_eq!(
        s.completed + s.compensated,
        s.accepted,
        "every saga ended well"
    );
    assert!(
        s.compensated >= 1,
        "some checkouts pay with a declined card"
    );
    assert_eq!(s.kills_by_kind.values().sum::<u32>(), 2, "two kills");
    assert!(
        s.kills_by_kind
            .keys()
            .all(|k| sagaflow_chaos::faults::PARTICIPANTS.contains(&k.as_str())),
        "only participants were killed: {:?}",
        s.kills_by_kind
    );
    assert_eq!(s.poison, 2);
    assert_eq!(s.duplicates, 6);
    let row = |name: &str| {
        report
            .rows
            .iter()
            .find(|r| r.invariant == name)
            .unwrap_or_else(|| panic!("no row {name}"))
    };
    assert_eq!(
        row("one terminal saga per accepted checkout").checked,
        s.accepted as u64
    );
    assert_eq!(
        row("gateway status = saga status").checked,
        s.accepted as u64
    );
    assert_eq!(row("every poison message dead-lettered").checked, 2);
    assert_eq!(row("every outbox drained").checked, 12);
    assert_eq!(
        row("one net charge per completed, none per compensated").checked,
        s.accepted as u64
    );
}
