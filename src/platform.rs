//! The only calls into the C library, each behind a safe function: two memory tunables
//! (glibc's mmap threshold, transparent huge pages) for the snapshot's large buffers.
//! Elsewhere the crate has no `unsafe`. On other platforms both are no-ops.

/// Has glibc's malloc serve every allocation over 128 KiB with its own mmap, returned to
/// the system when freed; call once at start-up.
///
/// glibc raises its mmap threshold to the size of the largest block freed (up to 32
/// MiB), so after the first snapshot is replaced the next ones, tens of MiB each, come
/// from the heap, whose freed space stays in the RSS. What fixing the threshold saves at
/// peak is measured by benches/memory.rs (BENCHMARKS.md, "Memory").
pub fn return_large_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes a malloc tunable; it is called before the
        // buffers it concerns exist, and any value is valid for M_MMAP_THRESHOLD.
        let changed = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024) };
        if changed == 0 {
            tracing::debug!("glibc refused the mmap threshold; large buffers stay in the heap");
        }
    }
}

/// A buffer for an exposition of about `capacity` bytes, backed by transparent huge
/// pages where the kernel offers them on request (`madvise` mode, the common default).
///
/// With the mmap threshold fixed (see [`return_large_buffers_to_the_system`]), every
/// snapshot is written into freshly mapped memory, and at 4 KiB a page the page faults
/// cost more than the writing at large sizes (benches/pipeline.rs; BENCHMARKS.md, "Poll
/// cost"). The memory is the same either way; it is returned to the system when the
/// snapshot is dropped.
pub fn large_buffer(capacity: usize) -> Vec<u8> {
    let mut buffer: Vec<u8> = Vec::with_capacity(capacity);
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if capacity >= 4 * HUGE_PAGE {
        // The page-aligned part of the allocation, which glibc maps on its own.
        let start = buffer.as_mut_ptr() as usize;
        let aligned = start.next_multiple_of(PAGE);
        let length = (start + capacity).saturating_sub(aligned) / PAGE * PAGE;
        // SAFETY: the range lies inside `buffer`'s allocation and is page-aligned, and
        // MADV_HUGEPAGE only changes how the kernel backs it, never its contents.
        let refused =
            unsafe { libc::madvise(aligned as *mut libc::c_void, length, libc::MADV_HUGEPAGE) };
        if refused != 0 {
            tracing::debug!("huge pages refused; the snapshot uses normal pages");
        }
    }
    buffer
}

/// The page size madvise works in, and the size of a huge page, on x86-64 and most
/// aarch64 kernels. Were the real page larger, madvise would refuse the range, which
/// costs nothing but the huge pages.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const PAGE: usize = 4096;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const HUGE_PAGE: usize = 2 * 1024 * 1024;
