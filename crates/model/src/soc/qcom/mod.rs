//! `drivers/soc/qcom`.
pub mod qmi_interface;
