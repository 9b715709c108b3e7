//! Start-up and idle cost of the real binary in a pseudo-terminal.
//!
//! `cargo bench --bench startup` prints:
//! - time from process start to the first frame on screen (median of several starts);
//! - bytes written to the terminal and CPU time used while idle for 30 s, on a configuration
//!   whose only source polls hourly, so nothing changes but the clock's minute.
//!
//! A plain program rather than a statistical harness: one run is a process and a terminal, and
//! the numbers are reported, not asserted.

#[path = "../tests/common/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::time::{Duration, Instant};

const STARTS: usize = 9;
const IDLE: Duration = Duration::from_secs(30);

fn main() {
    // `cargo bench` passes --bench; any other argument filters, as with other harnesses.
    if std::env::args()
        .skip(1)
        .any(|a| a != "--bench" && !"startup".contains(a.as_str()))
    {
        return;
    }
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("idle.toml");
    std::fs::write(
        &config,
        "[[source]]\nname = \"local\"\nkind = \"local\"\nevery = \"1h\"\n",
    )
    .expect("write config");
    let config = config.to_str().expect("utf-8 path");

    let mut firsts = Vec::new();
    for _ in 0..STARTS {
        let started = Instant::now();
        let mut screen = pty::Screen::start(home.path(), &["--config", config], 120, 35, &[]);
        screen.wait_for("the first frame", |s| s.contains("Hosts"));
        firsts.push(started.elapsed());
        screen.type_keys("q");
        screen.wait_exit();
    }
    firsts.sort();
    println!(
        "first frame: median {:.1} ms, min {:.1} ms, max {:.1} ms over {STARTS} starts (120x35)",
        ms(firsts[STARTS / 2]),
        ms(firsts[0]),
        ms(firsts[STARTS - 1])
    );

    let mut screen = pty::Screen::start(home.path(), &["--config", config], 120, 35, &[]);
    screen.wait_for("the local host polled", |s| s.contains('%'));
    // Let the first poll and the first store read settle before counting.
    std::thread::sleep(Duration::from_secs(2));
    let pid = screen.pid().expect("pid");
    let bytes_before = screen.raw_output().len();
    let cpu_before = cpu_ticks(pid);
    std::thread::sleep(IDLE);
    let bytes = screen.raw_output().len() - bytes_before;
    let cpu = cpu_ticks(pid) - cpu_before;
    let ticks_per_s = 100.0; // USER_HZ on Linux
    let cpu_s = cpu as f64 / ticks_per_s;
    println!(
        "idle {}s: {bytes} bytes written to the terminal, {cpu_s:.2} s CPU ({:.2} % of a core)",
        IDLE.as_secs(),
        100.0 * cpu_s / IDLE.as_secs_f64()
    );
    screen.type_keys("q");
    screen.wait_exit();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
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
