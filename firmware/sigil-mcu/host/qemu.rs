//! Host-side test support (std), shared by the workspace tests that talk to the trust-core
//! firmware: build it once, boot it in QEMU's MPS2 AN386 with UART0 on a loopback TCP port, read
//! its semihosting log. Included with `#[path]`; not part of the firmware build.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root (the folder holding `firmware/sigil-mcu`).
pub fn repo_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("firmware/sigil-mcu/Cargo.toml").is_file() {
        assert!(
            dir.pop(),
            "no firmware/sigil-mcu above {}",
            env!("CARGO_MANIFEST_DIR")
        );
    }
    dir
}

/// Build the firmware (release, thumbv7em-none-eabihf) once per test process; its ELF.
pub fn firmware() -> &'static Path {
    static ELF: OnceLock<PathBuf> = OnceLock::new();
    ELF.get_or_init(|| {
        let crate_dir = repo_root().join("firmware/sigil-mcu");
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sigil-mcu");
        // The image holds panic locations, whose paths differ between machines: remapped, the
        // image (and its size in size.snapshot) is the same wherever the repository and cargo's
        // home are. Added to the rustflags of .cargo/config.toml, not instead of them.
        let home = std::env::var_os("CARGO_HOME").map_or_else(
            || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"),
            PathBuf::from,
        );
        let remap = format!(
            "target.thumbv7em-none-eabihf.rustflags=[\"--remap-path-prefix={}=/sigil\", \"--remap-path-prefix={}=/cargo\"]",
            repo_root().display(),
            home.display()
        );
        // Run from the crate's folder so its .cargo/config.toml (target, linker script) applies.
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--locked", "--config", &remap, "--target-dir"])
            .arg(&target)
            .current_dir(&crate_dir)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building firmware/sigil-mcu failed (needs `rustup target add thumbv7em-none-eabihf`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("thumbv7em-none-eabihf/release/sigil-mcu")
    })
}

/// A booted trust core.
pub struct Mcu {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Mcu {
    /// Boot the firmware with its flash file in `dir` (kept across boots: same key, same
    /// chain), and wait until it says it is up. The UART's port is picked free and handed to
    /// QEMU; should another process take it in between, QEMU stops at once and the boot is
    /// tried again on another port.
    pub fn boot(dir: &Path) -> Self {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::try_boot(dir) {
                Ok(mcu) => return mcu,
                Err(log) => last = log,
            }
        }
        panic!("the firmware stopped three times: {last}");
    }

    fn try_boot(dir: &Path) -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let log = dir.join("semihosting.log");
        let stdout = std::fs::File::create(&log).unwrap();
        let stderr = stdout.try_clone().unwrap();
        let child = Command::new("qemu-system-arm")
            .args(["-machine", "mps2-an386", "-cpu", "cortex-m4"])
            .args(["-display", "none", "-monitor", "none"])
            .arg("-serial")
            .arg(format!("tcp:127.0.0.1:{port},server=on,wait=off"))
            .args(["-semihosting-config", "enable=on,target=native"])
            .args(["-icount", "shift=0"])
            .arg("-kernel")
            .arg(firmware())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("qemu-system-arm does not start ({e}): install Debian's qemu-system-arm")
            });
        let mut mcu = Self { child, port, log };
        let started = Instant::now();
        loop {
            if mcu.log_text().contains("sigil-mcu: up") {
                return Ok(mcu);
            }
            if let Some(status) = mcu.child.try_wait().unwrap() {
                return Err(format!("({status}) {}", mcu.log_text()));
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the firmware did not come up in 60 s: {}",
                mcu.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Its UART as a `--trust-core` / `sigil_link::Endpoint` address.
    pub fn endpoint(&self) -> String {
        format!("tcp:127.0.0.1:{}", self.port)
    }

    /// Everything it logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last value of `key=` on a log line for request `op` (e.g. `seal`, `instructions`).
    pub fn last_figure(&self, op: &str, key: &str) -> Option<u64> {
        let text = self.log_text();
        let line = text
            .lines()
            .rev()
            .find(|l| l.contains(&format!("op={op} ")))?;
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
    }

    /// A figure from the boot line (`image=`, `statics=`).
    pub fn boot_figure(&self, key: &str) -> Option<u64> {
        let text = self.log_text();
        let line = text.lines().find(|l| l.contains("sigil-mcu: up"))?;
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.trim_end_matches(',').parse().ok())
    }
}

impl Drop for Mcu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
