//! The memory allocator of the binary, and of the benchmarks that measure code in their own
//! process: jemalloc, with settings for a console that lives for weeks.
//!
//! Why not the C library's malloc: every poll replaces thousands of rows, and glibc spent over
//! half of `update`'s instructions for a 10,000-host poll freeing the old ones on the UI task;
//! and it kept the pages that the sources restarted by a reload had freed, so RSS stepped up at
//! every reload. mimalloc freed fastest but held half again as much memory. The numbers are in
//! docs/benchmarks.md.
//!
//! jemalloc hands freed pages back to the system only as fast as its decay allows; by default
//! over some 10–30 s, long enough for a 10,000-host poll's garbage to pile up under the next
//! one (a peak of 64 MiB where glibc needed 54). [`SETTINGS`] shortens that to a second, done by
//! background threads so an idle console gives memory back too.
//!
//! And one arena, where jemalloc would make four per CPU: the console's threads mostly wait on
//! the network, so they seldom contend for it (each thread keeps a cache of its own in front),
//! while every further arena keeps pages of its own half used, and a background thread. A
//! 1,000-endpoint round then peaked 15 % lower (49 MB against 57–59) for about 5 % more CPU and
//! the same wall time, and the long-life run held a MiB less with three threads fewer.

/// jemalloc's options (its `malloc_conf`), NUL-terminated for C.
pub const SETTINGS: &[u8] = b"background_thread:true,dirty_decay_ms:1000,narenas:1\0";

pub use tikv_jemallocator::Jemalloc;

/// Makes the binary it is expanded in allocate with jemalloc and gives jemalloc [`SETTINGS`].
/// Both in one place, so no binary runs on jemalloc without its settings. It has to be expanded
/// in each binary (the console, a benchmark): jemalloc reads a symbol the program defines, and a
/// definition in this library would be left out by the linker, since no code refers to it.
#[macro_export]
macro_rules! global_allocator {
    () => {
        #[global_allocator]
        static ALLOCATOR: $crate::allocator::Jemalloc = $crate::allocator::Jemalloc;

        // SAFETY: jemalloc declares `malloc_conf` (named `_rjem_malloc_conf` in the Rust build)
        // as a weak `const char *` for the program to define, and reads it once as it starts.
        // This one points at a NUL-terminated string that lives as long as the program.
        #[unsafe(export_name = "_rjem_malloc_conf")]
        static JEMALLOC_SETTINGS: Option<&'static u8> = Some(&$crate::allocator::SETTINGS[0]);
    };
}
