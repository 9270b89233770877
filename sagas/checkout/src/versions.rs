//! Every version of the `checkout` definition ever shipped, oldest first (see
//! [`sagaflow_saga_engine::versions`] for why every one stays listed and how to
//! ship a new one).

use sagaflow_saga_engine::{Version, Versions};

use crate::definition::{definition, definition_with_timeout};

/// Every shipped version, oldest first; the last is [`definition()`].
pub const VERSIONS: Versions = Versions(&[Version {
    definition,
    with_timeout: definition_with_timeout,
}]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_version_oldest_first_ending_with_the_current_one() {
        assert_eq!(VERSIONS.check(), Ok(()));
        let newest = VERSIONS.build(None).pop().map(|d| (d.name, d.version));
        assert_eq!(newest, Some(("checkout", definition().version)));
    }
}
