//! Start-up and idle cost of the real binary in a pseudo-terminal.
//!
//! `cargo bench --bench startup` prints:
//! - time from process start to the first byte and to the first frame on the terminal, median
//!   and p99 over 50 starts of the embedded default, each with a fresh HOME (so each creates its
//!   store and log, as a first start does);
//! - bytes written to the terminal and CPU time used while idle for 30 s, on a configuration
//!   whose only source polls hourly, in a window that holds no change of the clock's minute,
//!   so nothing on screen has reason to change;
//! - what the clock's minute costs when it does change;
//! - the same 30 s on the embedded default, whose local source brings new CPU and memory
//!   figures every 5 s, so some cells really change.
//!
//! A plain program rather than a statistical harness: one run is a process and a terminal, and
//! the numbers are reported, not asserted. Under `cargo test` (no `--bench`) it only starts the
//! console once and quits, so the test suite checks it works without waiting a minute and a half.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "../tests/common/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const STARTS: usize = 50;
const IDLE: Duration = Duration::from_secs(30);
/// How finely the screen is watched for the first frame.
const WATCH: Duration = Duration::from_millis(1);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes --bench; a word filters, as with other harnesses; other flags
    // (`cargo test -- --include-ignored`) are the test harness's and do not.
    if args
        .iter()
        .any(|a| !a.starts_with("--") && !"startup".contains(a.as_str()))
    {
        return;
    }
    let measuring = args.iter().any(|a| a == "--bench");
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("idle.toml");
    std::fs::write(
        &config,
        "[[source]]\nname = \"local\"\nkind = \"local\"\nevery = \"1h\"\n",
    )
    .expect("write config");
    let config = config.to_str().expect("utf-8 path");
    let hourly = ["--config", config];

    let starts = if measuring { STARTS } else { 1 };
    let mut first_bytes = Vec::new();
    let mut first_frames = Vec::new();
    for _ in 0..starts {
        let fresh = tempfile::tempdir().expect("temp dir");
        let started = Instant::now();
        let mut screen = pty::Screen::start(fresh.path(), &[], 120, 35, &[]);
        let first_byte = std::cell::Cell::new(None);
        screen.wait_for_every(WATCH, "the first frame", |s| {
            if first_byte.get().is_none() && !screen.raw_output().is_empty() {
                first_byte.set(Some(started.elapsed()));
            }
            s.contains("Hosts")
        });
        let first_frame = started.elapsed();
        first_bytes.push(first_byte.get().unwrap_or(first_frame));
        first_frames.push(first_frame);
        screen.type_keys("q");
        screen.wait_exit();
    }
    println!(
        "first byte: {} over {starts} starts, embedded default, fresh HOME each (120x35)",
        spread(&mut first_bytes)
    );
    println!(
        "first frame: {} over {starts} starts, embedded default, fresh HOME each (120x35)",
        spread(&mut first_frames)
    );
    if !measuring {
        return;
    }

    let mut screen = settled_console(home.path(), &hourly);
    // Start just after a minute turns, so the 30 s hold no change of the clock.
    wait_until_second(2);
    let idle = Idle::start(&screen);
    std::thread::sleep(IDLE);
    println!("idle 30s, hourly source: {}", idle.report(&screen));
    // Then across the next turn of the minute, for what the clock costs.
    let before_minute = screen.raw_output().len();
    wait_until_second(2);
    println!(
        "the clock's minute: {} bytes once a minute",
        screen.raw_output().len() - before_minute
    );
    screen.type_keys("q");
    screen.wait_exit();

    let mut screen = settled_console(home.path(), &[]);
    wait_until_second(2);
    let idle = Idle::start(&screen);
    std::thread::sleep(IDLE);
    println!(
        "idle 30s, embedded default (local every 5s): {}",
        idle.report(&screen)
    );
    screen.type_keys("q");
    screen.wait_exit();
}

/// A console whose first poll and first store read are on screen and done.
fn settled_console(home: &Path, args: &[&str]) -> pty::Screen {
    let screen = pty::Screen::start(home, args, 120, 35, &[]);
    screen.wait_for("the local host polled", |s| s.contains('%'));
    std::thread::sleep(Duration::from_secs(2));
    screen
}

/// Bytes and CPU time from a moment on.
struct Idle {
    bytes: usize,
    cpu_ticks: u64,
    at: Instant,
    pid: u32,
}

impl Idle {
    fn start(screen: &pty::Screen) -> Idle {
        let pid = screen.pid().expect("pid");
        Idle {
            bytes: screen.raw_output().len(),
            cpu_ticks: cpu_ticks(pid),
            at: Instant::now(),
            pid,
        }
    }

    fn report(&self, screen: &pty::Screen) -> String {
        let bytes = screen.raw_output().len() - self.bytes;
        let ticks_per_s = 100.0; // USER_HZ on Linux
        let cpu_s = (cpu_ticks(self.pid) - self.cpu_ticks) as f64 / ticks_per_s;
        let wall = self.at.elapsed().as_secs_f64();
        format!(
            "{bytes} bytes written to the terminal, {cpu_s:.2} s CPU ({:.2} % of a core), \
             peak RSS {} kB",
            100.0 * cpu_s / wall,
            peak_rss_kb(self.pid)
        )
    }
}

/// Sleep until the wall clock's seconds within the minute reach `second`.
fn wait_until_second(second: u64) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    let into_minute = now.as_secs_f64() % 60.0;
    let wait = (second as f64 - into_minute).rem_euclid(60.0);
    std::thread::sleep(Duration::from_secs_f64(wait));
}

/// "median 9.1 ms, p99 14.0 ms, min 7.9 ms, max 14.0 ms" of some durations.
fn spread(times: &mut [Duration]) -> String {
    times.sort();
    let n = times.len();
    let p99 = times[(n * 99).div_ceil(100) - 1];
    format!(
        "median {:.1} ms, p99 {:.1} ms, min {:.1} ms, max {:.1} ms",
        ms(times[n / 2]),
        ms(p99),
        ms(times[0]),
        ms(times[n - 1])
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The most memory the process has held (VmHWM), from /proc.
fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks, from /proc.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}
