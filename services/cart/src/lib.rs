//! sagaflow-cart
