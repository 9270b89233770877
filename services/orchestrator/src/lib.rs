//! sagaflow-orchestrator
