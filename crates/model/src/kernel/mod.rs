//! `kernel/`: the task freezer of system sleep.

pub mod freezer;
