//! `ondeck snapshot --json` over 1,000 `http` sources, side by side with what an operator would
//! run instead, `curl --parallel --parallel-max 1000` over the same URLs: each endpoint answers
//! `{"status":"ok"}` after 50 ms on loopback (see `support/endpoints.rs`). Both are whole
//! processes, started alternately, 7 times each; wall time, CPU time (user + system) and peak
//! RSS of each process come from `wait4`. Targets: ondeck's wall time no more than curl's and
//! its CPU time no more than 1.5× curl's, at the median of the same run.
//!
//! Run with `cargo bench --bench snapshot_vs_curl` (curl must be installed;
//! `scripts/services.sh` installs it). A plain program: it times processes, which divan cannot.

// The endpoint server's fake_http, shared with the tests, fails by panicking.
#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/endpoints.rs"]
mod endpoints;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use endpoints::{ANSWER_DELAY, ENDPOINTS, Endpoints};

const RUNS: usize = 7;

fn main() {
    if endpoints::serve_if_asked() {
        return;
    }
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("snapshot_vs_curl: curl is not installed; nothing measured");
        return;
    }
    let endpoints = Endpoints::start();
    let home = tempfile::tempdir().expect("temp dir");
    let config = home.path().join("endpoints.toml");
    std::fs::write(&config, config_text(&endpoints)).expect("write the config");
    let urls: Vec<String> = endpoints.urls().collect();

    let ondeck = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ondeck"));
        command
            .args(["snapshot", "--json", "--config"])
            .arg(&config)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_STATE_HOME", home.path().join("state"));
        command
    };
    let curl = || {
        let mut command = Command::new("curl");
        // Its progress meter, which --silent does not quiet in parallel mode, would only clutter
        // the report; a failure still shows in its exit code.
        command
            .args(["--silent", "--parallel", "--parallel-max", "1000"])
            .args(&urls)
            .stderr(Stdio::null());
        command
    };
    // One of each first, unmeasured: the store's first open creates and migrates it.
    check_ondeck(&run(ondeck()));
    check_curl(&run(curl()));

    let (mut ondeck_runs, mut curl_runs) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let ran = run(ondeck());
        check_ondeck(&ran);
        ondeck_runs.push(ran);
        let ran = run(curl());
        check_curl(&ran);
        curl_runs.push(ran);
    }
    let (ondeck, curl) = (Medians::of(&ondeck_runs), Medians::of(&curl_runs));
    println!(
        "snapshot_vs_curl: {ENDPOINTS} http endpoints answering after {} ms, {RUNS} runs each, alternating; medians",
        ANSWER_DELAY.as_millis()
    );
    println!("ondeck snapshot --json  {ondeck}");
    println!("curl --parallel         {curl}");
    println!(
        "ratios ondeck/curl      wall {:.2} (target ≤ 1.00)  CPU {:.2} (target ≤ 1.50)  peak RSS {:.2}",
        ondeck.wall.as_secs_f64() / curl.wall.as_secs_f64(),
        ondeck.cpu.as_secs_f64() / curl.cpu.as_secs_f64(),
        ondeck.peak_rss_kib as f64 / curl.peak_rss_kib as f64
    );
}

fn config_text(endpoints: &Endpoints) -> String {
    endpoints
        .urls()
        .enumerate()
        .map(|(i, url)| {
            format!(
                "[[source]]\nname = \"endpoint-{i}\"\nkind = \"http\"\nurl = \"{url}\"\n\
                 expect_json = {{ status = \"ok\" }}\ntimeout = \"3s\"\n\n"
            )
        })
        .collect()
}

/// One finished process.
struct Ran {
    wall: Duration,
    cpu: Duration,
    peak_rss_kib: u64,
    exit_code: i32,
    stdout: Vec<u8>,
}

/// Runs `command` to its end, its output read as it comes, and measures it.
fn run(mut command: Command) -> Ran {
    let started = Instant::now();
    // Reaped by `wait4` below, which unlike `Child::wait` also gives its resource usage.
    #[allow(clippy::zombie_processes)]
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the process");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).expect("read its output");
        bytes
    });
    let pid = i32::try_from(child.id()).expect("a pid");
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: wait4 writes only the status and the usage it is given; the child is ours and
    // reaped here once (std's `Child` is not waited on afterwards).
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(reaped, pid, "wait4 failed");
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ran {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak_rss_kib: usage.ru_maxrss as u64,
        exit_code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
        stdout: reader.join().expect("the output"),
    }
}

/// A run that failed somewhere measured something else.
fn check_ondeck(ran: &Ran) {
    assert_eq!(ran.exit_code, 0, "ondeck snapshot found something wrong");
    let snapshot: serde_json::Value =
        serde_json::from_slice(&ran.stdout).expect("ondeck printed JSON");
    let hosts = snapshot["hosts"].as_array().expect("hosts");
    assert_eq!(hosts.len(), ENDPOINTS);
    assert!(hosts.iter().all(|host| host["status"] == "up"));
}

fn check_curl(ran: &Ran) {
    assert_eq!(ran.exit_code, 0, "curl failed");
    let answers = String::from_utf8_lossy(&ran.stdout)
        .matches(r#"{"status":"ok"}"#)
        .count();
    assert_eq!(answers, ENDPOINTS);
}

struct Medians {
    wall: Duration,
    cpu: Duration,
    peak_rss_kib: u64,
}

impl Medians {
    fn of(runs: &[Ran]) -> Medians {
        fn median<T: Ord + Copy>(mut values: Vec<T>) -> T {
            values.sort();
            values[values.len() / 2]
        }
        Medians {
            wall: median(runs.iter().map(|r| r.wall).collect()),
            cpu: median(runs.iter().map(|r| r.cpu).collect()),
            peak_rss_kib: median(runs.iter().map(|r| r.peak_rss_kib).collect()),
        }
    }
}

impl std::fmt::Display for Medians {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "wall {:6.1} ms  CPU {:6.1} ms  peak RSS {:5.1} MiB",
            self.wall.as_secs_f64() * 1000.0,
            self.cpu.as_secs_f64() * 1000.0,
            self.peak_rss_kib as f64 / 1024.0
        )
    }
}
