//! What ondeck keeps on disk — the store (audit log, operators, their addresses) and the log —
//! is readable by its owner alone, and no core dump can spill the secrets it holds in memory.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::pty::Screen;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_first_start_with_umask_022_leaves_nothing_readable_by_others() {
    let home = tempfile::tempdir().unwrap();
    // The console, as a user whose umask lets every file be read by everyone.
    let ondeck = env!("CARGO_BIN_EXE_ondeck");
    let mut screen = Screen::start_program(
        Path::new("/bin/sh"),
        home.path(),
        &["-c", "umask 022 && exec \"$0\"", ondeck],
        (80, 24),
        &[],
    );
    // This console's session in the Sessions pane: the store is open and written to.
    screen.type_keys("\t");
    let account = common::os_account();
    screen.wait_for("this console in the Sessions pane", |s| {
        s.contains("CLIENT") && s.contains(&account)
    });

    let store = home.path().join("data/ondeck");
    let db = store.join("ondeck.db");
    // SQLite's write-ahead log and shared memory exist while the console has the store open.
    let mut private = vec![
        (home.path().join("data"), 0o700),
        (store.clone(), 0o700),
        (db.clone(), 0o600),
    ];
    for suffix in ["-wal", "-shm"] {
        private.push((store.join(format!("ondeck.db{suffix}")), 0o600));
    }
    let logs = home.path().join("state/ondeck");
    private.push((logs.clone(), 0o700));
    let log_files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(!log_files.is_empty(), "no log file in {}", logs.display());
    private.extend(log_files.into_iter().map(|file| (file, 0o600)));
    for (path, expected) in &private {
        assert_eq!(
            mode(path),
            *expected,
            "{} is {:o}",
            path.display(),
            mode(path)
        );
    }
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
}

/// `/bin/sh -c SCRIPT ARGS…` in `dir`, with a core limit of "unlimited" set before the program is
/// started and standard signal dispositions, as an interactive shell leaves them.
fn with_cores_allowed(dir: &Path, program: &str, args: &[&str]) -> std::process::Child {
    Command::new("/bin/sh")
        .arg("-c")
        .arg("ulimit -c unlimited && exec \"$@\"")
        .arg("sh")
        .arg(program)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start")
}

/// Waits until `pid` runs `program` (the shell has exec'd it) and returns its core limit line.
fn core_limit_once_running(pid: u32, program: &Path) -> String {
    let started = Instant::now();
    loop {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
        let core = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap_or_default()
            .to_string();
        // ondeck lowers its limit first thing; wait for that too, or for a program that never
        // will (the control) to have been running a moment.
        if exe.as_deref() == Some(program)
            && (core.split_whitespace().nth(4) == Some("0")
                || started.elapsed() > Duration::from_millis(500))
        {
            return core;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} never started",
            program.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn cores_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("core"))
        .collect()
}

fn quit_and_wait(child: &mut std::process::Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-QUIT", &pid]).status().unwrap();
    assert!(sent.success());
    child.wait().unwrap()
}

#[test]
fn sigquit_leaves_no_core_dump() {
    // The control: on this machine, a process that allows cores dumps one on SIGQUIT.
    let control_dir = tempfile::tempdir().unwrap();
    let sleep = which("sleep");
    let mut control = with_cores_allowed(control_dir.path(), sleep.to_str().unwrap(), &["30"]);
    let limit = core_limit_once_running(control.id(), &sleep);
    assert!(limit.contains("unlimited"), "{limit}");
    let status = quit_and_wait(&mut control);
    assert_eq!(status.signal(), Some(libc::SIGQUIT));
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    assert!(
        status.core_dumped(),
        "the control dumped no core (core_pattern {pattern:?}): the test would prove nothing"
    );

    // ondeck, started the same way, busy with a source that does not answer.
    let dir = tempfile::tempdir().unwrap();
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = dir.path().join("ondeck.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"hung\"\nkind = \"http\"\n\
             url = \"http://127.0.0.1:{}/healthz\"\ntimeout = \"30s\"\n",
            hung.local_addr().unwrap().port()
        ),
    )
    .unwrap();
    let ondeck = Path::new(env!("CARGO_BIN_EXE_ondeck"));
    let mut child = with_cores_allowed(
        dir.path(),
        ondeck.to_str().unwrap(),
        &["snapshot", "--config", config.to_str().unwrap()],
    );
    let limit = core_limit_once_running(child.id(), ondeck);
    // Soft and hard limit both 0: the process cannot raise it again.
    assert_eq!(
        limit.split_whitespace().skip(4).take(2).collect::<Vec<_>>(),
        ["0", "0"],
        "{limit}"
    );
    // Not dumpable: its /proc entries belong to root rather than to the user running it, which
    // is visible when that user is not root.
    let owner = std::fs::metadata(format!("/proc/{}/environ", child.id()))
        .unwrap()
        .uid();
    // SAFETY: getuid has no preconditions.
    let me = unsafe { libc::getuid() };
    if me != 0 {
        assert_eq!(owner, 0, "ondeck is dumpable");
    }
    let status = quit_and_wait(&mut child);
    assert_eq!(status.signal(), Some(libc::SIGQUIT), "{status:?}");
    assert!(!status.core_dumped(), "{status:?}");
    let cores = cores_in(dir.path());
    assert!(cores.is_empty(), "ondeck left a core dump: {cores:?}");
}

fn which(program: &str) -> std::path::PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{program} not on PATH"))
        .canonicalize()
        .unwrap()
}
