//! Fuzzes the aggregates response parser and the mapping behind it: any bytes from the
//! API either fail to parse (that poll fails) or parse and map into valid series.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/invariants/mod.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    if let Err(problem) = invariants::check_aggregates(data) {
        panic!("{problem}");
    }
});
