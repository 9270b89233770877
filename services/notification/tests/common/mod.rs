//! The shared handler test kit.
#![allow(unused_imports)]

pub use sagaflow_bus::testing::*;
