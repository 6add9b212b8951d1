//! Hostile and broken clients: arbitrary input at every layer gets a clean status, never a
//! panic; stalled, greedy and vanishing clients leave the server up and real-time calls fast.

mod bodies;
mod connections;
mod properties;
pub(crate) mod raw;
