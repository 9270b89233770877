//! The after-sale definitions pass the engine's checks, keep their shape, and
//! their committed diagrams are current.

use std::path::PathBuf;
use std::time::Duration;

use sagaflow_saga_aftersale::{
    CANCELLATION_VERSIONS, REFUND_VERSIONS, cancellation, names, refund,
};
use sagaflow_saga_engine::{Definition, check, mermaid};

fn both() -> [Definition; 2] {
    [cancellation::definition(), refund::definition()]
}

#[test]
fn both_pass_check_with_any_timeout() {
    for def in both() {
        assert_eq!(check(&def), Ok(()), "{}", def.name);
    }
    assert_eq!(
        check(&cancellation::definition_with_timeout(
            Duration::from_millis(50)
        )),
        Ok(())
    );
    assert_eq!(
        check(&refund::definition_with_timeout(Duration::from_millis(50))),
        Ok(())
    );
}

#[test]
fn the_payment_refund_is_the_pivot_of_both() {
    for def in both() {
        let pivot = def.pivot().expect("a pivot");
        assert_eq!(def.steps[pivot].name, names::REFUND_PAYMENT, "{}", def.name);
        assert_eq!(pivot, 1);
        assert!(
            def.compensation_of(0).is_some(),
            "{}: the order step is undone",
            def.name
        );
    }
}

#[test]
fn versions_list_the_current_definitions() {
    assert_eq!(CANCELLATION_VERSIONS.check(), Ok(()));
    assert_eq!(REFUND_VERSIONS.check(), Ok(()));
    let newest =
        |v: sagaflow_saga_engine::Versions| v.build(None).pop().map(|d| (d.name, d.version));
    assert_eq!(
        newest(CANCELLATION_VERSIONS),
        Some((names::CANCELLATION, 1))
    );
    assert_eq!(newest(REFUND_VERSIONS), Some((names::REFUND, 1)));
}

/// Regenerate with `UPDATE_DIAGRAMS=1 cargo test -p sagaflow-saga-aftersale`.
#[test]
fn committed_diagrams_are_up_to_date() {
    for def in both() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../docs/sagas/{}.mmd", def.name));
        let expected = mermaid(&def);
        if std::env::var_os("UPDATE_DIAGRAMS").is_some() {
            std::fs::write(&path, &expected).expect("write diagram");
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == expected,
            "{} is out of date; regenerate it with `UPDATE_DIAGRAMS=1 cargo test -p sagaflow-saga-aftersale`.\n{expected}",
            path.display()
        );
    }
}
