//! The saga definitions one orchestrator runs. A saga records the definition
//! version it started with and finishes on it, so old versions stay registered
//! while sagas still run them.

use sagaflow_saga_engine::Definition;

/// Definitions by name and version.
pub struct Definitions {
    all: Vec<Definition>,
}

impl Definitions {
    pub fn new(all: Vec<Definition>) -> Self {
        Self { all }
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
