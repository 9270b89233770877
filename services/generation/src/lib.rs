//! sagaflow-generation
