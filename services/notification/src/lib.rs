//! sagaflow-notification
