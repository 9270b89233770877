//! sagaflow-llm
