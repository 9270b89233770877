//! Every version of a definition ever shipped. A saga finishes on the version it
//! started with, so a version stays listed for as long as a saga may still run
//! it (the orchestrator's `GET /sagas/versions` shows which versions are still
//! in flight); new sagas start on the newest. A definition crate lists its
//! versions as one [`Versions`] constant; to ship a new version, keep the old
//! builders as they are (e.g. as `v1`), add the new ones after them, and the
//! orchestrator registers all of them (refusing duplicates).

use std::time::Duration;

use thiserror::Error;

use crate::definition::Definition;

/// One shipped version, by its two builders.
#[derive(Debug, Clone, Copy)]
pub struct Version {
    /// The version with its own timeouts.
    pub definition: fn() -> Definition,
    /// The version with every step's timeout set to the given one (tests, drills).
    pub with_timeout: fn(Duration) -> Definition,
}

/// Every shipped version of one definition, oldest first.
#[derive(Debug, Clone, Copy)]
pub struct Versions(pub &'static [Version]);

/// Why a [`Versions`] list is not one entry per version of one definition,
/// oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VersionsError {
    #[error("no version is listed")]
    Empty,
    #[error("`{first}` and `{other}` are listed as versions of one definition")]
    MixedNames {
        first: &'static str,
        other: &'static str,
    },
    #[error("{name} v{later} is listed after v{earlier}: one entry per version, oldest first")]
    NotAscending {
        name: &'static str,
        earlier: u32,
        later: u32,
    },
}

impl Versions {
    /// Every version, oldest first: with their own timeouts, or with every
    /// step's timeout set to `step_timeout`.
    pub fn build(&self, step_timeout: Option<Duration>) -> Vec<Definition> {
        self.0
            .iter()
            .map(|version| match step_timeout {
                Some(timeout) => (version.with_timeout)(timeout),
                None => (version.definition)(),
            })
            .collect()
    }

    /// Checks that both builds list one definition, one entry per version,
    /// oldest first (for the definition crate's tests).
    pub fn check(&self) -> Result<(), VersionsError> {
        for built in [self.build(None), self.build(Some(Duration::from_millis(5)))] {
            let first = built.first().ok_or(VersionsError::Empty)?;
            for pair in built.windows(2) {
                if pair[1].name != first.name {
                    return Err(VersionsError::MixedNames {
                        first: first.name,
                        other: pair[1].name,
                    });
                }
                if pair[1].version <= pair[0].version {
                    return Err(VersionsError::NotAscending {
                        name: first.name,
                        earlier: pair[0].version,
                        later: pair[1].version,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::RetryPolicy;

    fn named(name: &'static str, version: u32, timeout: Duration) -> Definition {
        Definition {
            name,
            version,
            steps: Vec::new(),
            compensation_retry: RetryPolicy {
                max_attempts: 1,
                initial_backoff: timeout,
                multiplier: 1,
                max_backoff: timeout,
            },
            result: None,
            user: None,
        }
    }

    fn v1() -> Definition {
        named("demo", 1, Duration::from_secs(30))
    }
    fn v1_with(timeout: Duration) -> Definition {
        named("demo", 1, timeout)
    }
    fn v2() -> Definition {
        named("demo", 2, Duration::from_secs(30))
    }
    fn v2_with(timeout: Duration) -> Definition {
        named("demo", 2, timeout)
    }
    fn other() -> Definition {
        named("other", 2, Duration::from_secs(30))
    }

    const V1: Version = Version {
        definition: v1,
        with_timeout: v1_with,
    };
    const V2: Version = Version {
        definition: v2,
        with_timeout: v2_with,
    };

    #[test]
    fn builds_every_version_oldest_first_with_its_timeouts_or_the_given_one() {
        let versions = Versions(&[V1, V2]);
        assert_eq!(versions.check(), Ok(()));
        let own = versions.build(None);
        assert_eq!(own.iter().map(|d| d.version).collect::<Vec<_>>(), [1, 2]);
        assert!(
            own.iter()
                .all(|d| d.compensation_retry.initial_backoff == Duration::from_secs(30))
        );
        let fast = versions.build(Some(Duration::from_millis(7)));
        assert_eq!(fast.iter().map(|d| d.version).collect::<Vec<_>>(), [1, 2]);
        assert!(
            fast.iter()
                .all(|d| d.compensation_retry.initial_backoff == Duration::from_millis(7))
        );
    }

    #[test]
    fn refuses_an_empty_list_mixed_names_and_versions_out_of_order() {
        assert_eq!(Versions(&[]).check(), Err(VersionsError::Empty));
        assert_eq!(
            Versions(&[V2, V1]).check(),
            Err(VersionsError::NotAscending {
                name: "demo",
                earlier: 2,
                later: 1
            })
        );
        assert_eq!(
            Versions(&[V1, V1]).check(),
            Err(VersionsError::NotAscending {
                name: "demo",
                earlier: 1,
                later: 1
            })
        );
        const MIXED: Version = Version {
            definition: other,
            with_timeout: |_| other(),
        };
        assert_eq!(
            Versions(&[V1, MIXED]).check(),
            Err(VersionsError::MixedNames {
                first: "demo",
                other: "other"
            })
        );
    }
}
