//! Integration tests against fake providers (axum on 127.0.0.1:0) speaking each wire protocol.

mod anthropic;
mod common;
mod fallback;
mod offline;
mod openai;
mod settings;
