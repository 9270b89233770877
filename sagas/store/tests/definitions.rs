//! Registering definitions: every version stays, the newest starts new sagas,
//! and two definitions with the same name and version are refused.

use sagaflow_saga_store::Definitions;
use sagaflow_saga_store::definitions::Duplicate;

#[test]
fn versions_coexist_and_duplicates_are_refused() {
    let v1 = sagaflow_saga_checkout::definition();
    let mut v2 = sagaflow_saga_checkout::definition();
    v2.version = 2;
    let both = Definitions::try_new(vec![v1.clone(), v2.clone()]).expect("distinct versions");
    assert_eq!(both.latest("checkout").map(|d| d.version), Some(2));
    assert_eq!(both.get("checkout", 1).map(|d| d.version), Some(1));

    let twice = Definitions::try_new(vec![v1.clone(), v2, v1]).err();
    assert_eq!(
        twice,
        Some(Duplicate {
            name: "checkout",
            version: 1
        })
    );
}
