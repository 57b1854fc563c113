//! The `meshsynth` binary: parse, run, print one error, exit.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

/// meshsynth allocates millions of small strings and JSON values from several
/// threads; mimalloc halves the time glibc's allocator spends on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option (index 15 of `mi_option_t` in mimalloc 3, the version
/// `libmimalloc-sys` builds by default), and its default in milliseconds.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
const MI_PURGE_DELAY_DEFAULT: std::ffi::c_long = 1000;

#[allow(unsafe_code)]
mod mi {
    use std::ffi::{c_int, c_long};
    extern "C" {
        // From the mimalloc library that `libmimalloc-sys` builds and links.
        pub(crate) fn mi_option_get(option: c_int) -> c_long;
        pub(crate) fn mi_option_set(option: c_int, value: c_long);
    }
}

/// Keeps memory that meshsynth frees for its own reuse instead of handing it back to the
/// kernel a second later. A synthesis frees its parsed input early and allocates its plans
/// and templates right after; purging in between cost the 2,000-account org 0.3 s of kernel
/// time (madvise and TLB shootdowns on every core) for no gain in a process that exits
/// seconds later. `MIMALLOC_PURGE_DELAY` in the environment still decides; and nothing is
/// set unless the option at that index holds purge_delay's default, so a mimalloc with
/// another option layout is left alone.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() || std::env::var_os("MIMALLOC_RESET_DELAY").is_some() {
        return;
    }
    // SAFETY: both functions only read or write one entry of mimalloc's option table (an
    // atomic), for an index inside it; this runs before any other thread starts.
    #[allow(unsafe_code)]
    unsafe {
        if mi::mi_option_get(MI_OPTION_PURGE_DELAY) == MI_PURGE_DELAY_DEFAULT {
            mi::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        }
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = meshsynth::cli::Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut io = meshsynth::Io {
        out: &mut out,
        err: &mut err,
        interactive,
        leftovers: Vec::new(),
    };
    let result = meshsynth::run(cli, &mut io);
    // The process is about to exit, which frees everything at once: freeing the
    // topology value by value would cost a noticeable share of a large run.
    std::mem::forget(std::mem::take(&mut io.leftovers));
    let code = match result {
        Ok(code) => code,
        // A closed stdout (`meshsynth graph | head`) is not a failure.
        Err(e) if e.is_broken_pipe() => meshsynth::exit::ExitCode::Success,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            e.exit_code()
        }
    };
    let _ = out.flush();
    ExitCode::from(code.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option index the binary sets is mimalloc's purge delay: its default is there,
    /// and `MIMALLOC_PURGE_DELAY` (read by mimalloc at start-up) would land there too.
    #[test]
    fn the_purge_delay_option_is_where_main_sets_it() {
        let expected = std::env::var("MIMALLOC_PURGE_DELAY")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(MI_PURGE_DELAY_DEFAULT);
        // SAFETY: as in `keep_freed_memory`.
        #[allow(unsafe_code)]
        let delay = unsafe { mi::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, expected);
    }
}
