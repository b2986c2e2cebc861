#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tollgate_sandbox::fuzzing::jql(data);
});
