//! Settings of the process a program runs Tidewater in, applied by the programs that own their
//! process (the `tidewater` CLI, the Python module, the benchmark harness) when they start.
//! The library applies none of them by itself.
//!
//! # Transparent huge pages
//!
//! mimalloc, the allocator of those programs, asks Linux for transparent huge pages
//! (`madvise(MADV_HUGEPAGE)`) on the memory it maps. Where the kernel then compacts memory to
//! find a free 2 MiB page (`defrag` set to `madvise`, a common default), the page fault stalls
//! the thread that touched the memory; and every huge page is zeroed whole, 2 MiB at a time,
//! each time a freed one is given back and touched again. A streaming query touches new memory
//! in every epoch, so it paid both. The socket word count at 200k lines/s had epochs of 20-70 ms
//! with two workers (a p99 latency of 45 ms against 1.7 ms without huge pages), and a Nexmark
//! q8 run spent a fifth of its time in the kernel zeroing pages (bench/README.md, "Huge pages
//! off").
//!
//! So the programs turn transparent huge pages off for their process, as the JVM leaves them
//! off unless asked (`-XX:+UseTransparentHugePages`), and as databases with latency goals
//! advise. `TIDEWATER_TRANSPARENT_HUGE_PAGES=1` keeps the system's setting instead.

use tracing::{debug, warn};

/// The environment variable that keeps transparent huge pages: `1` keeps them, `0` (or
/// nothing) turns them off.
pub const TRANSPARENT_HUGE_PAGES_ENV: &str = "TIDEWATER_TRANSPARENT_HUGE_PAGES";

/// What [`avoid_transparent_huge_pages`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HugePages {
    /// Turned off for this process (and the processes it starts).
    Off,
    /// Kept as the system has them, because the environment asked for it.
    Kept,
    /// Left as they are: the system cannot turn them off per process (the reason says why).
    Unchanged(String),
}

/// Turns transparent huge pages off for the whole process, unless
/// [`TRANSPARENT_HUGE_PAGES_ENV`] is `1`. Call it at the start of `main`: it covers every
/// thread, the memory mapped before and after, and the children the process starts.
pub fn avoid_transparent_huge_pages() -> HugePages {
    let setting = std::env::var(TRANSPARENT_HUGE_PAGES_ENV).ok();
    let outcome = apply(setting.as_deref());
    match &outcome {
        HugePages::Off => debug!("transparent huge pages are off for this process"),
        HugePages::Kept => debug!("transparent huge pages kept ({TRANSPARENT_HUGE_PAGES_ENV}=1)"),
        HugePages::Unchanged(reason) => debug!("transparent huge pages left as they are: {reason}"),
    }
    outcome
}

/// [`avoid_transparent_huge_pages`] for a given value of the environment variable.
fn apply(setting: Option<&str>) -> HugePages {
    match setting.map(str::trim) {
        Some("1") => return HugePages::Kept,
        None | Some("") | Some("0") => {}
        Some(other) => warn!(
            "{TRANSPARENT_HUGE_PAGES_ENV}={other:?} is neither 1 nor 0; turning transparent \
             huge pages off, as with 0"
        ),
    }
    disable_for_process()
}

#[cfg(target_os = "linux")]
fn disable_for_process() -> HugePages {
    // PR_SET_THP_DISABLE marks the whole address space: the kernel then never backs any of its
    // mappings with a transparent huge page, whatever `madvise` asked for, and children and
    // `execve` keep the mark.
    // SAFETY: prctl with PR_SET_THP_DISABLE takes integer arguments and touches no memory of
    // ours.
    let result = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if result == 0 {
        HugePages::Off
    } else {
        HugePages::Unchanged(format!(
            "prctl(PR_SET_THP_DISABLE): {}",
            std::io::Error::last_os_error()
        ))
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_for_process() -> HugePages {
    HugePages::Unchanged("transparent huge pages are a Linux setting".into())
}

#[cfg(test)]
mod tests {
    use super::{apply, HugePages};

    #[test]
    fn one_keeps_huge_pages_and_anything_else_turns_them_off() {
        assert_eq!(apply(Some("1")), HugePages::Kept);
        assert_eq!(apply(Some(" 1 ")), HugePages::Kept);
        for setting in [None, Some(""), Some("0"), Some("yes")] {
            let outcome = apply(setting);
            #[cfg(target_os = "linux")]
            assert_eq!(outcome, HugePages::Off, "{setting:?}");
            #[cfg(not(target_os = "linux"))]
            assert!(matches!(outcome, HugePages::Unchanged(_)), "{setting:?}");
        }
    }

    /// The kernel reports the mark back: the process's memory gets no huge page from here on.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_reports_huge_pages_off() {
        assert_eq!(apply(None), HugePages::Off);
        // SAFETY: as above, integer arguments only.
        let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        assert_eq!(disabled, 1);
    }
}
