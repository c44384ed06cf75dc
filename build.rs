//! Records the git revision for the `genesys_exporter_build_info` metric. A build outside
//! a git checkout (a source tarball) reports "unknown".

use std::process::Command;

fn main() {
    let revision = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty());
    if let Some(revision) = revision {
        println!("cargo:rustc-env=GENESYS_EXPORTER_REVISION={revision}");
    }
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
}
