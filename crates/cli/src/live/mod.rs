//! Live mode: the model stack on OS threads behind a Unix datagram socket.
//!
//! * `serve` boots the stack (`model::kit::setup`, the same code the checker runs) and
//!   stands in for the QRTR router of the uaudio service: [`wire`] says what a
//!   datagram carries.
//! * `dsp` is a DSP's QMI client over that socket.
//! * `ctl` injects USB and PM events through the control socket (`PATH.ctl`).
//! * `stress` storms the stack with events, DSP behaviours and faults in-process.

pub mod bench;
pub mod cmd_ctl;
pub mod cmd_dsp;
pub mod cmd_serve;
pub mod cmd_stress;
pub mod control;
pub mod log;
pub mod versus;
pub mod wire;
