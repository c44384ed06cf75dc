//! Records what `--version` and `genesys_exporter_build_info` report: the git revision
//! and branch, the build date and the rustc version. A build outside a git checkout (a
//! source tarball) reports "unknown" for the first two. `SOURCE_DATE_EPOCH`, when set,
//! fixes the build date, for reproducible builds.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let revision = output("git", &["rev-parse", "--short=12", "HEAD"]);
    let branch = output("git", &["rev-parse", "--abbrev-ref", "HEAD"]);
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let rustc_version = output(&rustc, &["--version"]);
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
    for (name, value) in [
        ("GENESYS_EXPORTER_REVISION", revision.as_deref()),
        ("GENESYS_EXPORTER_BRANCH", branch.as_deref()),
        ("GENESYS_EXPORTER_RUSTC_VERSION", rustc_version.as_deref()),
        ("GENESYS_EXPORTER_BUILD_DATE", Some(&build_date(epoch))),
        ("GENESYS_EXPORTER_TARGET", Some(&target)),
    ] {
        println!(
            "cargo:rustc-env={name}={}",
            value.unwrap_or("unknown").replace('\n', " ")
        );
    }
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
}

/// The trimmed standard output of a command that succeeded, if not empty.
fn output(program: &str, args: &[&str]) -> Option<String> {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
}

/// Unix seconds as Prometheus tools print a build date: `20261203-11:05:00` (UTC).
fn build_date(epoch: u64) -> String {
    let days = (epoch / 86_400) as i64;
    let seconds = epoch % 86_400;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}
