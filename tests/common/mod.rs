// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

pub mod pty;

/// The OS account running the tests, which ondeck names as the operator.
pub fn os_account() -> String {
    let id = std::process::Command::new("id")
        .arg("-un")
        .output()
        .expect("id -un");
    String::from_utf8_lossy(&id.stdout).trim().to_string()
}
