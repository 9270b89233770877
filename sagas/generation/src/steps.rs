//! Step names, wire message types and topics of the generation saga.

pub const ANALYSE_JOB: &str = "analyse_job";
pub const COMPILE_PROFILE: &str = "compile_profile";
pub const GENERATE: &str = "generate";
pub const VALIDATE: &str = "validate";
pub const EXPORT: &str = "export";

/// Every command of the saga goes here; replies come back on `generation.events`.
pub const GENERATION_COMMANDS: &str = "generation.commands";

/// The formats every document is exported to.
pub const EXPORT_FORMATS: [&str; 3] = ["markdown", "html", "pdf"];
