//! `drivers/soc`: only the Qualcomm QMI helper library is modelled.
pub mod qcom;
