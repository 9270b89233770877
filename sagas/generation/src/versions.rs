//! Every version of the `generation` definition ever shipped. A saga finishes on the
//! version it started with, so a version stays listed for as long as a saga may
//! still run it (the orchestrator's `GET /sagas/versions` shows which versions
//! are still in flight); new sagas start on the newest. To ship a new version,
//! keep the old builder as it is (e.g. as `v1`), add the new one, and list both
//! here: the orchestrator registers all of them and refuses duplicates.

use std::time::Duration;

use sagaflow_saga_engine::Definition;

use crate::definition::{definition, definition_with_timeout};

/// Every shipped version, oldest first, with their own timeouts.
pub fn all_versions() -> Vec<Definition> {
    vec![definition()]
}

/// Every shipped version, oldest first, with every step's timeout set to
/// `step_timeout` (for tests and drills).
pub fn all_versions_with_timeout(step_timeout: Duration) -> Vec<Definition> {
    vec![definition_with_timeout(step_timeout)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_distinct_ascending_and_end_with_the_current_one() {
        for versions in [
            all_versions(),
            all_versions_with_timeout(Duration::from_millis(5)),
        ] {
            assert!(!versions.is_empty());
            assert!(versions.iter().all(|d| d.name == "generation"));
            assert!(
                versions.windows(2).all(|w| w[0].version < w[1].version),
                "one entry per version, oldest first"
            );
            assert_eq!(
                versions.last().map(|d| d.version),
                Some(definition().version)
            );
        }
    }
}
