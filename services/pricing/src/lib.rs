//! sagaflow-pricing
