//! Shared test harness: the binary under test, temp workspaces and the AWS
//! emulator (moto server, through `scripts/local-aws`) on a free loopback port.
#![allow(dead_code, unreachable_pub)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `meshsynth` as built for this test run, run from `dir`, with no AWS settings leaking in.
pub fn meshsynth(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("meshsynth").expect("the meshsynth binary is built for tests");
    cmd.current_dir(dir)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("NO_COLOR", "1")
        // Grants expire: the example org's outputs are pinned to the day they were made on.
        .env("MESHSYNTH_TODAY", TODAY);
    cmd
}

/// `scripts/gen-org ARGS --format FORMAT` into `dir`; returns the topology's path (the folder
/// for `dir`, else its one `org.<format>` file).
pub fn gen_org(dir: &Path, args: &[&str], format: &str) -> PathBuf {
    let status = Command::new("python3")
        .arg(repo().join("scripts/gen-org"))
        .arg(dir)
        .args(args)
        .args(["--format", format, "--force"])
        .stderr(Stdio::null())
        .status()
        .expect("python3 runs scripts/gen-org");
    assert!(status.success(), "gen-org failed");
    if format == "dir" {
        dir.to_owned()
    } else {
        dir.join(format!("org.{format}"))
    }
}

/// The day every test judges grant expiry on (`MESHSYNTH_TODAY`).
/// Runs `validate` on each `tests/fixtures/<dir>/<name>.<ext>` of `cases` and
/// returns a line per fixture whose exit code is not 1, whose stdout is not
/// empty, or whose stderr is not exactly the expected text.
pub fn exact_validate_failures(dir: &str, ext: &str, cases: &[(&str, &str)]) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, want) in cases {
        let path = format!("tests/fixtures/{dir}/{name}.{ext}");
        let output = meshsynth(&repo())
            .args(["-t", &path, "validate"])
            .output()
            .expect("run meshsynth");
        let got = String::from_utf8_lossy(&output.stderr);
        if output.status.code() != Some(1) || got != *want || !output.stdout.is_empty() {
            failures.push(format!(
                "{name}: exit {:?}\n--- want\n{want}--- got\n{got}",
                output.status.code()
            ));
        }
    }
    failures
}

pub const TODAY: &str = "2026-12-02";

/// Copies a directory tree (fixtures into a temp workspace).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the destination folder");
    for entry in std::fs::read_dir(from).expect("read the fixture folder") {
        let entry = entry.expect("read a fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a fixture file");
        }
    }
}

/// A temp workspace holding a copy of the example org (`accounts/`).
pub fn example_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("create a temp dir");
    copy_dir(&repo().join("accounts"), &dir.path().join("accounts"));
    dir
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A moto server for one test, stopped when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
    _logdir: tempfile::TempDir,
}

impl Moto {
    /// Starts `scripts/local-aws` on a free port and waits until it answers.
    ///
    /// Panics (failing the test, never skipping it) when the emulator cannot start,
    /// with what to install.
    pub fn start() -> Moto {
        let port = free_port();
        let logdir = tempfile::tempdir().expect("create a temp dir for the emulator log");
        let log = logdir.path().join("moto.log");
        let logfile = std::fs::File::create(&log).expect("create the emulator log");
        let child = Command::new(repo().join("scripts/local-aws"))
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(logfile.try_clone().expect("clone log handle"))
            .stderr(logfile)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start scripts/local-aws ({e}); install the emulator with `python3 -m pip install 'moto[server]==5.2.1'`")
            });
        let mut moto = Moto {
            child,
            port,
            log,
            _logdir: logdir,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                let log = std::fs::read_to_string(&moto.log).unwrap_or_default();
                panic!(
                    "the AWS emulator exited ({status}) before answering; install it with \
                     `python3 -m pip install 'moto[server]==5.2.1'`. Its log:\n{log}"
                );
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() && moto.ready() {
                return moto;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(&moto.log).unwrap_or_default();
                panic!("the AWS emulator did not answer on port {port} within 120 s. Its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn ready(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let req = "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.")
    }

    /// The endpoint URL to give meshsynth (`--endpoint-url`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `meshsynth` configured for this emulator: dummy static credentials, its endpoint.
    pub fn meshsynth(&self, dir: &Path) -> assert_cmd::Command {
        let mut cmd = meshsynth(dir);
        cmd.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .arg("--endpoint-url")
            .arg(self.url());
        cmd
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub mod iam;
pub mod mesh;
pub mod org;
