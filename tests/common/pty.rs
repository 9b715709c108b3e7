//! Drives the real `ondeck` binary in a pseudo-terminal, reading the screen through a terminal
//! emulator, the way a person at a keyboard would.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// How long a screen may take to show what a test waits for. Generous: it bounds a hung test,
/// it does not measure speed.
const PATIENCE: Duration = Duration::from_secs(45);

pub struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// The master side: the writer, the reader thread's copy and the pty itself. All three are
    /// closed by [`Screen::hang_up`].
    writer: Option<Box<dyn Write + Send>>,
    reader: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
    master: Option<Box<dyn MasterPty + Send>>,
    master_fd: RawFd,
    child: Box<dyn Child + Send + Sync>,
}

impl Screen {
    /// Start `ondeck ARGS` in a `cols`×`rows` terminal with every user directory under `home`.
    pub fn start(home: &Path, args: &[&str], cols: u16, rows: u16, env: &[(&str, &str)]) -> Screen {
        Screen::start_program(
            Path::new(env!("CARGO_BIN_EXE_ondeck")),
            home,
            args,
            (cols, rows),
            env,
        )
    }

    /// Start `program ARGS` as [`Screen::start`] starts ondeck.
    pub fn start_program(
        program: &Path,
        home: &Path,
        args: &[&str],
        (cols, rows): (u16, u16),
        env: &[(&str, &str)],
    ) -> Screen {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env_clear();
        cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        cmd.env("TERM", "xterm-256color");
        cmd.env("HOME", home);
        cmd.env("USER", "alice");
        cmd.env("XDG_CONFIG_HOME", home.join("config"));
        cmd.env("XDG_DATA_HOME", home.join("data"));
        cmd.env("XDG_STATE_HOME", home.join("state"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn ondeck");
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let master_fd = pair.master.as_raw_fd().expect("a unix pty");
        // The reader's own copy of the master, watched with a timeout so that a hang-up can
        // stop the thread and close it: a blocked read would hold the pty open forever.
        // SAFETY: F_DUPFD_CLOEXEC makes a new descriptor that the File below owns alone.
        let reader_fd = unsafe { libc::fcntl(master_fd, libc::F_DUPFD_CLOEXEC, 0) };
        assert!(reader_fd >= 0, "dup the pty master");
        let mut reader = unsafe { std::fs::File::from_raw_fd(reader_fd) };
        let stop = Arc::new(AtomicBool::new(false));
        let (p, r, stopping) = (parser.clone(), raw.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while !stopping.load(Ordering::Relaxed) {
                let mut poll = libc::pollfd {
                    fd: reader.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut poll, 1, 20) } <= 0 {
                    continue;
                }
                match reader.read(&mut buf) {
                    Ok(n) if n > 0 => {
                        p.lock().unwrap().process(&buf[..n]);
                        r.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    _ => break,
                }
            }
        });
        let writer = pair.master.take_writer().expect("pty writer");
        Screen {
            parser,
            raw,
            writer: Some(writer),
            reader: Some((stop, thread)),
            master: Some(pair.master),
            master_fd,
            child,
        }
    }

    /// Close the terminal as a terminal emulator that is closed, or an SSH connection that
    /// drops, does: every descriptor of the master side, so the program's terminal hangs up
    /// (SIGHUP, reads at their end, writes failing). What was on screen stays readable.
    pub fn hang_up(&mut self) {
        if let Some((stop, thread)) = self.reader.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = thread.join();
        }
        self.writer = None;
        self.master = None;
    }

    /// The terminal's local modes (`ICANON`, `ECHO`, …) as the program left them.
    pub fn local_modes(&self) -> libc::tcflag_t {
        assert!(self.master.is_some(), "the terminal was hung up");
        // SAFETY: termios is plain data; tcgetattr fills it for a valid descriptor.
        let mut termios: libc::termios = unsafe { std::mem::zeroed() };
        let read = unsafe { libc::tcgetattr(self.master_fd, &mut termios) };
        assert_eq!(read, 0, "tcgetattr on the pty");
        termios.c_lflag
    }

    /// True when the terminal is back in the line mode a shell expects (raw mode off).
    pub fn in_line_mode(&self) -> bool {
        let modes = self.local_modes();
        modes & libc::ICANON != 0 && modes & libc::ECHO != 0
    }

    pub fn contents(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn raw_output(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Wait until the screen satisfies `ready`; panic with the screen if it never does.
    pub fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        self.wait_for_every(Duration::from_millis(50), what, ready)
    }

    /// [`Screen::wait_for`], looking every `interval` (finely, to time what appears).
    pub fn wait_for_every(
        &self,
        interval: Duration,
        what: &str,
        ready: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let screen = self.contents();
            if ready(&screen) {
                return screen;
            }
            if start.elapsed() > PATIENCE {
                panic!("the screen never showed {what}; it shows:\n{screen}");
            }
            std::thread::sleep(interval);
        }
    }

    pub fn wait_for_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Wait until the bytes written so far contain `text`, wherever the screen wrapped it; the
    /// reader may still be catching up after the program exits.
    pub fn wait_for_output(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let raw = String::from_utf8_lossy(&self.raw_output()).into_owned();
            if raw.contains(text) {
                return raw;
            }
            if start.elapsed() > PATIENCE {
                panic!("ondeck never wrote {text:?}; it wrote:\n{raw}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn type_keys(&mut self, keys: &str) {
        let writer = self.writer.as_mut().expect("the terminal was hung up");
        writer
            .write_all(keys.as_bytes())
            .expect("type into the pty");
        writer.flush().expect("flush the pty");
    }

    /// Wait for the program to exit and return its exit code.
    pub fn wait_exit(&mut self) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                return status.exit_code();
            }
            if start.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!(
                    "ondeck did not exit; the screen shows:\n{}",
                    self.contents()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}

/// True when the bytes leave the alternate screen and show the cursor after they last entered
/// it: the terminal was given back as it was found.
pub fn terminal_restored(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    let entered = text.rfind("\x1b[?1049h");
    let left = text.rfind("\x1b[?1049l");
    let shown = text.rfind("\x1b[?25h");
    match (entered, left, shown) {
        (Some(e), Some(l), Some(s)) => l > e && s > e,
        _ => false,
    }
}
