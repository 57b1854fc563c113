//! The `meshsynth` binary: parse, run, print one error, exit.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

/// meshsynth allocates millions of small strings and JSON values from several
/// threads; mimalloc halves the time glibc's allocator spends on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
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
