//! Tables for the JetStream data layer, most of them fed with bytes captured from nats-server
//! 2.15.1 (`/work/shared/protocol-captures/`).

mod api;
mod captured;
mod config;
mod headers;
mod proptests;
mod request;
mod response;
mod validate;
