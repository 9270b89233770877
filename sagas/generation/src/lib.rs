//! sagaflow-generation-saga
