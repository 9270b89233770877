//! Step names and topics of the generation saga (its message types are the
//! `MESSAGE_TYPE`s of `sagaflow_events::messages`).

/// The definition's name (`Definition::name`), as readers see it in progress.
pub const NAME: &str = "generation";

pub const ANALYSE_JOB: &str = "analyse_job";
pub const COMPILE_PROFILE: &str = "compile_profile";
pub const GENERATE: &str = "generate";
pub const VALIDATE: &str = "validate";
pub const EXPORT: &str = "export";

/// The name of the saga's result (the id of the document: the validated draft
/// until the export completes, then the exported one).
pub const RESULT_DOCUMENT_ID: &str = "document_id";

/// Every command of the saga goes here; replies come back on `generation.events`.
pub use sagaflow_events::topics::GENERATION_COMMANDS;

/// The formats every document is exported to: Markdown, HTML and the PDF layouts
/// (classic, ATS-plain, modern).
pub const EXPORT_FORMATS: [&str; 5] = ["markdown", "html", "pdf", "pdf-ats", "pdf-modern"];
