//! Fuzzes the query config parser: any text is either refused with a one-line message
//! naming the file, or accepted as a config that round-trips and maps valid series.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/invariants/mod.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    // Config::load refuses what is not UTF-8 before parsing; the parser sees text.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(problem) = invariants::check_config(text) {
        panic!("{problem}");
    }
});
