//! sagaflow-inventory
