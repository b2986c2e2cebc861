#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tollgate_plugin_hr_csv::fuzzing::csv_reader(data);
});
