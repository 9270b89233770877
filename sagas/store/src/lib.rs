//! sagaflow-saga-store
