//! sagaflow-gateway
