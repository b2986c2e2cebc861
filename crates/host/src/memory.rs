//! The process's memory, where glibc's allocator needs telling (elsewhere, musl or other
//! systems, both calls do nothing).

/// One heap for all of the process's threads. `check` and `report` hold the whole portfolio
/// while the rules run side by side on other threads; glibc's allocator gives threads heaps
/// of their own (arenas), and what one thread's findings free is not reused by another's:
/// at 10,000 initiatives that was 4-8 MiB of `check`'s peak memory of ~100 (BENCHMARKS.md).
/// `sync` parses pages on the runtime's threads and writes them on the store's: its own
/// heap per thread held ~11 MiB of a full sync's peak of ~100 MiB at 10,000 epics. The
/// daemon runs all three on whichever runtime thread is free, night after night: on heaps of
/// their own it peaked at 262 MiB over three jobs, on one at 194 MiB. None of them took
/// measurably longer on one heap. Call it before the process starts other threads.
pub fn one_allocator_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` sets one of the allocator's parameters; it is called before this
    // process starts its other threads, and a refusal (0) leaves the default.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// How large an allocation must be to get pages of its own from the system (`mmap`) rather
/// than from the heap, once [`fixed_own_pages_threshold`] is called.
const OWN_PAGES_FROM: usize = 1 << 20;

/// Fix the size from which an allocation gets pages of its own (1 MiB), where glibc would
/// move it. glibc starts at 128 KiB and raises it to the size of each such block freed, up to
/// 32 MiB: once the first job's portfolio and report had freed blocks of several MiB, the
/// next ones grew inside the heap, where a vector that grows leaves its old buffer resident
/// beside the new one. At 10,000 epics the daemon's job of sync, check and report peaked at
/// 103-119 MiB, mostly 113-119 from its second job on; with the threshold fixed, 98-106
/// MiB, and `check` right after a full sync 89-92 MiB instead of 104-107 (BENCHMARKS.md,
/// "The allocator's moving threshold"). Not for `sync` alone: its pages of a few MiB,
/// mapped and unmapped one by one, cost it 3-5 % more CPU at 10,000 epics for 2-6 MiB
/// less. Call it before the process starts other threads.
pub fn fixed_own_pages_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: as in `one_allocator_arena`: one of the allocator's parameters, set before
    // other threads start; a refusal (0) leaves glibc's moving threshold.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, OWN_PAGES_FROM as libc::c_int);
    }
}

/// Give the memory freed since the last call back to the system. glibc keeps what a process
/// frees for its next allocations and returns only the top of its heap; a daemon that built a
/// portfolio of 10,000 initiatives at night kept ~170-240 MiB resident all day for nothing.
/// Called when a job, a step of one, a report file or a page built from the whole store is
/// done: it walks the heap once (milliseconds) and changes nothing the process holds.
pub fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free pages of the allocator's heaps to the system;
    // it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The variable naming the file [`record_peak`] writes to.
pub const PEAK_FILE_VAR: &str = "TOLLGATE_PEAK_MEMORY_FILE";

/// With `TOLLGATE_PEAK_MEMORY_FILE=PATH` set, write this process's peak resident memory in
/// KiB (Linux's `VmHWM`) to PATH as it ends: how `tollgate bench` reads each step's. What
/// `wait4` tells a parent of its child is not the child's own: when the child starts the
/// program, Linux keeps the peak of the copy of the parent it was until then, so each step read
/// at least as large as the bench had grown (a `check` of 26 MiB as 54). Without the variable,
/// or where there is no `/proc/self/status`, nothing is written; a file that cannot be written
/// is said on stderr.
pub fn record_peak() {
    let Some(path) = std::env::var_os(PEAK_FILE_VAR) else {
        return;
    };
    let Some(kib) = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| peak_kib(&status))
    else {
        return;
    };
    if let Err(e) = std::fs::write(&path, kib.to_string()) {
        eprintln!(
            "warning: cannot write the peak memory to {} ({PEAK_FILE_VAR}): {e}",
            std::path::Path::new(&path).display()
        );
    }
}

/// `VmHWM` of a `/proc/PID/status`, in KiB.
fn peak_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_peak_is_read_from_the_status_in_kib() {
        let status =
            "Name:\ttollgate\nVmPeak:\t  300000 kB\nVmHWM:\t   26796 kB\nVmRSS:\t   20000 kB\n";
        assert_eq!(super::peak_kib(status), Some(26796));
        assert_eq!(super::peak_kib("VmRSS:\t 1 kB\n"), None);
        assert_eq!(super::peak_kib("VmHWM:\t lots kB\n"), None);
    }
}
