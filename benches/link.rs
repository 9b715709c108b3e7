//! The console over a slow SSH link: a real `sshd` on loopback, reached through a proxy of this
//! benchmark's own that holds every chunk 50 ms each way (a 100 ms round trip; these kernels
//! have no `netem`), and the `ssh` client in a 200×50 pseudo-terminal running `ondeck` on 1,000
//! HTTP hosts, of which one changes state per second when asked to.
//!
//! It prints, for the bytes that reach the client's terminal (what ssh writes to its pty) and
//! the encrypted bytes on the wire:
//! - bytes per second while idle (nothing changes);
//! - keystroke to screen: from writing `j` or `k` into ssh's terminal until the moved selection
//!   is on it, median and p95 over 30 presses;
//! - bytes per second while one host goes down every second, and the frames that carry them.
//!
//! `scripts/link-bench.sh` installs openssh-server where it is missing and runs it as
//! `cargo bench --bench link`. sshd gets host and client keys made for the run in a temporary
//! directory, a configuration file of its own, 127.0.0.1 only, and is stopped by its pid.
//! Under `cargo test` (no `--bench`) it does nothing: it needs sshd and takes two minutes.

#![allow(clippy::unwrap_used, reason = "a benchmark fails by panicking")]

#[path = "../tests/support/fake_http.rs"]
mod fake_http;
#[path = "../tests/common/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fake_http::{FakeServer, Reply};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const HOSTS: usize = 1_000;
const SIZE: (u16, u16) = (200, 50);
/// Each way: a 100 ms round trip.
const ONE_WAY: Duration = Duration::from_millis(50);
const IDLE: Duration = Duration::from_secs(30);
const CHANGING: Duration = Duration::from_secs(30);
const PRESSES: usize = 30;
/// How finely the terminal is watched for a key's answer.
const WATCH: Duration = Duration::from_millis(1);
const SSHD: &str = "/usr/sbin/sshd";

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("link: run with `scripts/link-bench.sh` (it needs sshd and takes two minutes)");
        return;
    }
    if !Path::new(SSHD).is_file() {
        println!(
            "link: skipped, {SSHD} is missing (scripts/link-bench.sh installs openssh-server)"
        );
        return;
    }
    let sshd_port = port("ONDECK_LINK_SSHD_PORT", 61522);
    let proxy_port = port("ONDECK_LINK_PROXY_PORT", 61523);
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // One more host goes down at each tick of `changes`.
    let changes = Arc::new(AtomicUsize::new(0));
    let down = Arc::clone(&changes);
    let server = runtime.block_on(FakeServer::start(move |request| {
        let host: usize = request
            .route()
            .trim_start_matches("/h/")
            .parse()
            .unwrap_or(0);
        if host < down.load(Ordering::Relaxed) {
            Reply::json(503, r#"{"status":"down"}"#)
        } else {
            Reply::json(200, r#"{"status":"ok"}"#)
        }
    }));
    let config = dir.path().join("ondeck.toml");
    write_config(&config, &server);

    let _sshd = Sshd::start(dir.path(), sshd_port);
    let wire = Arc::new(AtomicU64::new(0));
    runtime.spawn(proxy(proxy_port, sshd_port, Arc::clone(&wire)));

    let ondeck_home = dir.path().join("home");
    let remote = format!(
        "env HOME={home} XDG_CONFIG_HOME={home}/config XDG_DATA_HOME={home}/data \
         XDG_STATE_HOME={home}/state {ondeck} --config {config}",
        home = ondeck_home.display(),
        ondeck = env!("CARGO_BIN_EXE_ondeck"),
        config = config.display(),
    );
    let key = dir.path().join("client_key");
    let user = whoami();
    let destination = format!("{user}@127.0.0.1");
    let proxy_port_text = proxy_port.to_string();
    let ssh_args = [
        "-F",
        "/dev/null",
        "-i",
        key.to_str().unwrap(),
        "-p",
        &proxy_port_text,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-tt",
        &destination,
        &remote,
    ];
    let client_home = dir.path().join("client");
    std::fs::create_dir(&client_home).unwrap();
    let started = Instant::now();
    let mut screen = pty::Screen::start_program(
        Path::new("/usr/bin/ssh"),
        &client_home,
        &ssh_args,
        SIZE,
        &[],
    );
    screen.wait_for("every host up", |s| {
        s.contains(&format!("Hosts {HOSTS}")) && s.contains(&format!("{HOSTS} ok"))
    });
    println!(
        "link: {HOSTS} hosts at {}×{} over ssh through a proxy holding each chunk {} ms each way; all up after {:.1} s",
        SIZE.0,
        SIZE.1,
        ONE_WAY.as_millis(),
        started.elapsed().as_secs_f64()
    );
    // Let the first rounds' churn (latencies settling, the store opening) pass.
    std::thread::sleep(Duration::from_secs(5));

    let idle = measure(&screen, &wire, IDLE);
    idle.print("idle");
    // Idle output must be explained by what changed on screen (the clock's minute), so show it.
    if idle.terminal.len() <= 1024 {
        println!(
            "idle: what was written: \"{}\"",
            String::from_utf8_lossy(&idle.terminal).escape_debug()
        );
    }

    let latencies = keystrokes(&mut screen);
    let (median, p95) = (percentile(&latencies, 50), percentile(&latencies, 95));
    println!(
        "keystroke to screen over {PRESSES} presses: median {median:.0} ms, p95 {p95:.0} ms, \
         fastest {:.0} ms, slowest {:.0} ms (target under {} ms)",
        latencies[0],
        latencies[latencies.len() - 1],
        ONE_WAY.as_millis() * 3
    );
    std::thread::sleep(Duration::from_secs(2));

    let ticker = runtime.spawn({
        let changes = Arc::clone(&changes);
        async move {
            let mut every_second = tokio::time::interval(Duration::from_secs(1));
            loop {
                every_second.tick().await;
                changes.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let changing = measure(&screen, &wire, CHANGING);
    ticker.abort();
    changing.print("one host down per second");
    let shown = screen.contents();
    assert!(
        shown.contains("down"),
        "no host shown down after the changes:\n{shown}"
    );

    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    runtime.block_on(server.stop());
}

fn port(variable: &str, default: u16) -> u16 {
    std::env::var(variable)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

fn whoami() -> String {
    let id = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&id.stdout).trim().to_owned()
}

fn write_config(path: &Path, server: &FakeServer) {
    let sources: String = (0..HOSTS)
        .map(|i| {
            format!(
                "[[source]]\nname = \"host-{i:04}\"\nkind = \"http\"\nurl = \"{}\"\nevery = \"1s\"\n\n",
                server.url(&format!("/h/{i}"))
            )
        })
        .collect();
    std::fs::write(path, sources).unwrap();
}

/// sshd on 127.0.0.1 with keys and a configuration made for this run; stopped by its pid when
/// dropped.
struct Sshd(Child);

impl Sshd {
    fn start(dir: &Path, port: u16) -> Sshd {
        for name in ["host_key", "client_key"] {
            let made = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(name))
                .status()
                .unwrap();
            assert!(made.success(), "ssh-keygen {name}");
        }
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\n\
                 PidFile {dir}/sshd.pid\nAuthorizedKeysFile {dir}/authorized_keys\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 StrictModes no\nPermitRootLogin prohibit-password\nPrintMotd no\n\
                 PrintLastLog no\nLogLevel ERROR\n",
                dir = dir.display()
            ),
        )
        .unwrap();
        // Privilege separation needs its empty directory, which only the init script makes.
        let _ = std::fs::create_dir_all("/run/sshd");
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let sshd = Sshd(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "sshd did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sshd
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Forwards `listen` to `upstream`, each chunk held `ONE_WAY` in each direction and the bytes
/// towards the client counted in `wire`.
async fn proxy(listen: u16, upstream: u16, wire: Arc<AtomicU64>) {
    let listener = TcpListener::bind(("127.0.0.1", listen)).await.unwrap();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        tokio::spawn(delayed(client_read, server_write, None));
        tokio::spawn(delayed(server_read, client_write, Some(Arc::clone(&wire))));
    }
}

/// Copies `from` to `to`, each chunk written `ONE_WAY` after it was read, in order.
async fn delayed(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    counted: Option<Arc<AtomicU64>>,
) {
    let (chunks, mut due) =
        tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((at, chunk)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
            if let Some(counted) = &counted {
                counted.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let at = tokio::time::Instant::now() + ONE_WAY;
                if chunks.send((at, buffer[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(chunks);
    let _ = writer.await;
}

/// What reached the client in a window.
struct Window {
    seconds: f64,
    terminal: Vec<u8>,
    wire: u64,
}

fn measure(screen: &pty::Screen, wire: &AtomicU64, length: Duration) -> Window {
    let (from, wire_from) = (screen.raw_output().len(), wire.load(Ordering::Relaxed));
    let start = Instant::now();
    std::thread::sleep(length);
    let seconds = start.elapsed().as_secs_f64();
    Window {
        seconds,
        terminal: screen.raw_output()[from..].to_vec(),
        wire: wire.load(Ordering::Relaxed) - wire_from,
    }
}

impl Window {
    fn print(&self, what: &str) {
        const FRAME_END: &[u8] = b"\x1b[?2026l";
        // Frame sizes, each from the end of the one before (bytes between frames included).
        let mut frames = Vec::new();
        let mut start = 0;
        for (at, window) in self.terminal.windows(FRAME_END.len()).enumerate() {
            if window == FRAME_END {
                frames.push(at + FRAME_END.len() - start);
                start = at + FRAME_END.len();
            }
        }
        frames.sort_unstable();
        println!(
            "{what}: {:.0} B/s to the terminal ({} B in {:.0} s, {} frames, median {} B, largest {} B); \
             {:.0} B/s on the wire",
            self.terminal.len() as f64 / self.seconds,
            self.terminal.len(),
            self.seconds,
            frames.len(),
            frames.get(frames.len() / 2).copied().unwrap_or(0),
            frames.last().copied().unwrap_or(0),
            self.wire as f64 / self.seconds,
        );
    }
}

/// The rows below the tab bar that carry the selection marker.
fn selected_rows(screen: &str) -> Vec<usize> {
    screen
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, line)| line.contains('▶'))
        .map(|(row, _)| row)
        .collect()
}

/// Milliseconds from each key written to ssh's terminal until the moved selection is on it,
/// sorted.
fn keystrokes(screen: &mut pty::Screen) -> Vec<f64> {
    let mut latencies = Vec::with_capacity(PRESSES);
    for press in 0..PRESSES {
        let before = selected_rows(&screen.contents());
        let key = if press % 2 == 0 { "j" } else { "k" };
        let sent = Instant::now();
        screen.type_keys(key);
        screen.wait_for_every(WATCH, "the selection moved", |s| selected_rows(s) != before);
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        // Apart enough that each answer is its own.
        std::thread::sleep(Duration::from_millis(300 + fastrand::u64(0..200)));
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

fn percentile(sorted: &[f64], percent: usize) -> f64 {
    sorted[(sorted.len() - 1) * percent / 100]
}
