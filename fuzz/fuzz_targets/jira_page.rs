#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tollgate_plugin_jira::fuzzing::page_decoding(data);
});
