//! Progress on stderr. On a terminal: indicatif bars, one while planning and
//! one per deploy phase. Without one (CI): plain lines a log reader can
//! follow, one per stack as it starts, finishes or fails (with its elapsed
//! time), and a heartbeat naming what is still running while a wave waits.
//! Nothing with `--quiet`.
//!
//! The engine reports steps here and never writes anywhere else; what the
//! lines look like is decided here, once.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where progress lines go, and what is running now.
struct Lines {
    out: Mutex<Box<dyn Write + Send>>,
    /// `account stack` → when it started.
    running: Mutex<BTreeMap<String, Instant>>,
    heartbeat: Duration,
}

/// Where progress goes (or doesn't).
#[derive(Clone)]
pub(crate) struct Progress {
    multi: Option<MultiProgress>,
    lines: Option<Arc<Lines>>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("bars", &self.multi.is_some())
            .field("lines", &self.lines.is_some())
            .finish()
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

impl Progress {
    /// Bars drawn on stderr when `enabled`.
    pub(crate) fn new(enabled: bool) -> Progress {
        Progress {
            multi: enabled.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            lines: None,
        }
    }

    /// No bars at all.
    pub(crate) fn hidden() -> Progress {
        Progress {
            multi: None,
            lines: None,
        }
    }

    /// Plain lines to `out` (CI logs), with a heartbeat every `heartbeat`
    /// while a phase waits.
    pub(crate) fn lines(out: Box<dyn Write + Send>, heartbeat: Duration) -> Progress {
        Progress {
            multi: None,
            lines: Some(Arc::new(Lines {
                out: Mutex::new(out),
                running: Mutex::new(BTreeMap::new()),
                heartbeat,
            })),
        }
    }

    /// A new bar of `len` steps labelled `prefix` (hidden when disabled).
    pub(crate) fn bar(&self, len: u64, prefix: &str) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let style = ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = multi.add(ProgressBar::new(len).with_style(style));
        bar.set_prefix(prefix.to_owned());
        bar
    }

    fn line(&self, text: &str) {
        if let Some(lines) = &self.lines {
            let mut out = lines.out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // Progress is best effort: a closed stderr must not fail a deploy.
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    /// A deploy phase begins (`wave 1 (baseline)`), with `steps` to carry out.
    pub(crate) fn phase(&self, label: &str, steps: usize) {
        if steps > 0 {
            self.line(&format!("{label}: {steps} to deploy"));
        }
    }

    /// A stack (or a catalog policy) starts.
    pub(crate) fn started(&self, account: &str, name: &str) {
        if let Some(lines) = &self.lines {
            lines
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(format!("{account} {name}"), Instant::now());
            self.line(&format!("  start    {account} {name}"));
        }
    }

    /// A stack (or policy) is done; `outcome` says how (`created`,
    /// `failed: <reason>`, ...).
    pub(crate) fn finished(&self, account: &str, name: &str, outcome: &str) {
        if let Some(lines) = &self.lines {
            let began = lines
                .running
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&format!("{account} {name}"));
            let took = began.map(|b| format!(" ({})", secs(b.elapsed()))).unwrap_or_default();
            let word = if outcome.starts_with("failed") {
                "FAILED"
            } else {
                "done"
            };
            self.line(&format!("  {word:<8} {account} {name}{took}: {outcome}"));
        }
    }

    /// How often to call [`Progress::heartbeat`]; `None` without lines.
    pub(crate) fn heartbeat_every(&self) -> Option<Duration> {
        self.lines.as_ref().map(|l| l.heartbeat)
    }

    /// One line on what is still running, and for how long.
    pub(crate) fn heartbeat(&self) {
        let Some(lines) = &self.lines else { return };
        let running: Vec<(String, Duration)> = lines
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(k, t)| (k.clone(), t.elapsed()))
            .collect();
        if running.is_empty() {
            return;
        }
        let shown: Vec<String> = running
            .iter()
            .take(5)
            .map(|(k, d)| format!("{k} ({})", secs(*d)))
            .collect();
        let more = running.len().saturating_sub(shown.len());
        self.line(&format!(
            "  waiting  {} running: {}{}",
            running.len(),
            shown.join(", "),
            if more > 0 {
                format!(", and {more} more")
            } else {
                String::new()
            }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_name_each_stack_and_what_is_still_running() {
        let out = Shared::default();
        let p = Progress::lines(Box::new(out.clone()), Duration::from_secs(30));
        p.phase("wave 1 (baseline)", 2);
        p.started("333333333333", "mesh-baseline");
        p.started("444444444444", "mesh-baseline");
        p.finished("333333333333", "mesh-baseline", "created");
        p.heartbeat();
        p.finished("444444444444", "mesh-baseline", "failed: ROLLBACK_COMPLETE");
        p.heartbeat(); // nothing running: no line
        let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert_eq!(lines[0], "wave 1 (baseline): 2 to deploy");
        assert_eq!(lines[1], "  start    333333333333 mesh-baseline");
        assert!(
            lines[3].starts_with("  done     333333333333 mesh-baseline ("),
            "{text}"
        );
        assert!(lines[3].ends_with(" s): created"), "{text}");
        assert!(
            lines[4].starts_with("  waiting  1 running: 444444444444 mesh-baseline ("),
            "{text}"
        );
        assert!(
            lines[5].starts_with("  FAILED   444444444444 mesh-baseline ("),
            "{text}"
        );
        assert!(lines[5].ends_with(" s): failed: ROLLBACK_COMPLETE"), "{text}");
        assert_eq!(Progress::hidden().heartbeat_every(), None);
    }
}
