//! Drives the real `ondeck` binary in a pseudo-terminal, reading the screen through a terminal
//! emulator, the way a person at a keyboard would.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// How long a screen may take to show what a test waits for. Generous: it bounds a hung test,
/// it does not measure speed.
const PATIENCE: Duration = Duration::from_secs(45);

pub struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
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
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let (p, r) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                r.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let writer = pair.master.take_writer().expect("pty writer");
        Screen {
            parser,
            raw,
            writer,
            child,
            _master: pair.master,
        }
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
        self.writer
            .write_all(keys.as_bytes())
            .expect("type into the pty");
        self.writer.flush().expect("flush the pty");
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
