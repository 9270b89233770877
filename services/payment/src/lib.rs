//! sagaflow-payment
