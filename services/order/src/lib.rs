//! sagaflow-order
