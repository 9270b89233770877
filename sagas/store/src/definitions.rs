//! The saga definitions one orchestrator runs. A saga records the definition
//! version it started with and finishes on it, so every version ever shipped
//! stays registered (new sagas start on the newest): a process without a saga's
//! version cannot decide its replies or fire its timers (they are parked, see
//! [`crate::timeouts`]). [`Definitions::try_new`] refuses two definitions with
//! the same name and version.

use sagaflow_saga_engine::Definition;

/// Two registered definitions share a name and version, so which one a saga on
/// that version runs would be a matter of chance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("definition {name} v{version} is registered more than once")]
pub struct Duplicate {
    pub name: &'static str,
    pub version: u32,
}

/// Definitions by name and version.
pub struct Definitions {
    all: Vec<Definition>,
}

impl Definitions {
    /// Registers `all` as given; prefer [`Definitions::try_new`], which refuses
    /// duplicates.
    pub fn new(all: Vec<Definition>) -> Self {
        Self { all }
    }

    /// Registers `all`, refusing two with the same (name, version).
    pub fn try_new(all: Vec<Definition>) -> Result<Self, Duplicate> {
        for (i, def) in all.iter().enumerate() {
            if all[..i]
                .iter()
                .any(|other| other.name == def.name && other.version == def.version)
            {
                return Err(Duplicate {
                    name: def.name,
                    version: def.version,
                });
            }
        }
        Ok(Self { all })
    }

    /// The newest version of `name`: what new sagas start on.
    pub fn latest(&self, name: &str) -> Option<&Definition> {
        self.all
            .iter()
            .filter(|d| d.name == name)
            .max_by_key(|d| d.version)
    }

    pub fn get(&self, name: &str, version: u32) -> Option<&Definition> {
        self.all
            .iter()
            .find(|d| d.name == name && d.version == version)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Definition> {
        self.all.iter()
    }
}
