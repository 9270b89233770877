//! The crate's [`Error`].

/// What can go wrong outside a handler's business replies.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("llm: {0}")]
    Llm(#[from] sagaflow_llm::Error),
    #[error("pdf: {0}")]
    Pdf(String),
}
