//! Running a command the configuration names (a `release` source's `argv`, and the actions'
//! rollback, command and hook argv lists), the same safe way every time:
//!
//! - directly, never through a shell, so no argument is ever interpreted;
//! - with an explicit environment: [`BASE_ENV`] plus the variables the configuration names,
//!   so the console's own secrets (database URLs, API keys exported for other sources) do not
//!   leak into every script;
//! - in a process group of its own, killed as a whole when the run ends, times out or is
//!   cancelled (its future dropped): `sh -c 'sleep 97'` leaves no `sleep` behind, and neither
//!   does a script's background child;
//! - with its output capped, like an HTTP answer.
//!
//! Relative programs are anchored to the configuration file's directory when it is loaded
//! ([`anchored`]), never to the directory ondeck happened to be started in.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};

/// What every command gets from ondeck's environment: where programs are, whose home, the
/// language and time zone. Nothing else is passed unless the configuration names it.
pub const BASE_ENV: [&str; 9] = [
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
];

/// How much of a failing command's standard error is kept to explain the failure.
const STDERR_KEPT_BYTES: u64 = 4096;
/// The longest line of a streamed command's output; a longer one is cut into pieces.
pub const STREAMED_LINE_BYTES: usize = 4096;

/// `program` as the configuration at `dir` means it: a relative path (`./deploy.py`,
/// `scripts/state`) is the one beside the file; an absolute path, or a bare name looked up in
/// `PATH` (`python3`), is unchanged.
pub fn anchored(program: &str, dir: &Path) -> PathBuf {
    let path = Path::new(program);
    if path.is_absolute() || !program.contains('/') {
        return path.to_owned();
    }
    // `--config examples/x.toml` gives a relative directory, and `--config x.toml` an empty
    // one; the command must not depend on where ondeck is started either.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_owned())
        .join(path.strip_prefix(".").unwrap_or(path))
}

/// A command to run: `argv[0]` is the program; `pass_env` names the variables it gets besides
/// [`BASE_ENV`].
#[derive(Debug, Clone, Copy)]
pub struct Command<'a> {
    pub argv: &'a [String],
    pub pass_env: &'a [String],
    /// Variables set for the command whatever ondeck's environment holds (an action's
    /// `ONDECK_*`).
    pub set_env: &'a [(String, String)],
    pub cwd: Option<&'a Path>,
}

impl<'a> Command<'a> {
    /// `argv` with the variables `set_env`, nothing else passed from ondeck's environment
    /// beyond [`BASE_ENV`], in ondeck's own working directory.
    pub fn new(argv: &'a [String], set_env: &'a [(String, String)]) -> Command<'a> {
        Command {
            argv,
            pass_env: &[],
            set_env,
            cwd: None,
        }
    }
}

/// What a finished command printed and how it ended.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    /// The first line of standard error that says something, to explain a failure.
    pub stderr_first_line: Option<String>,
}

/// Why a command could not be run to the end. Messages name the program only: arguments may
/// carry a token.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("no command to run: `argv` is empty")]
    Empty,
    #[error("starting `{program}`: {source}")]
    Start {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the output of `{program}`: {source}")]
    Output {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{program}` printed more than {} MiB, not read", .limit / (1024 * 1024))]
    TooLarge { program: String, limit: usize },
}

/// A started command's process group, killed when this is dropped: on every way out of
/// [`run`], a timeout's cancellation included.
struct Group(Pid);

impl Drop for Group {
    fn drop(&mut self) {
        // Already gone (the usual case after a clean exit) is fine.
        let _ = killpg(self.0, Signal::SIGKILL);
    }
}

/// Runs `command` to its end and returns its standard output, at most `max_stdout` bytes
/// (more is an error, and the command is killed). Dropping the future kills the command's
/// whole process group.
pub async fn run(command: Command<'_>, max_stdout: usize) -> Result<Output, ProcessError> {
    let Started {
        mut child,
        group: _group,
        program,
        stdout,
        stderr,
    } = spawn(command)?;
    let output_failed = output_failed(&program);
    // Both pipes are read at once: a command that fills one while nobody reads it would
    // otherwise block forever.
    let (stdout, explanation) =
        tokio::join!(read_capped(stdout, max_stdout), keep_start_of(stderr));
    let stdout = stdout
        .map_err(output_failed)?
        .ok_or(ProcessError::TooLarge {
            program: program.clone(),
            limit: max_stdout,
        })?;
    let status = child.wait().await.map_err(output_failed)?;
    let stderr_first_line = explanation
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(str::to_owned);
    Ok(Output {
        status,
        stdout,
        stderr_first_line,
    })
}

/// Starts `command` in a process group of its own, with no standard input and both outputs
/// piped; the group is killed when the returned group is dropped.
fn spawn(command: Command<'_>) -> Result<Started, ProcessError> {
    let (program, args) = command.argv.split_first().ok_or(ProcessError::Empty)?;
    let mut builder = tokio::process::Command::new(program);
    builder
        .args(args)
        .env_clear()
        .envs(environment(command.pass_env))
        .envs(command.set_env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(cwd) = command.cwd {
        builder.current_dir(cwd);
    }
    let mut child = builder.spawn().map_err(|source| ProcessError::Start {
        program: program.clone(),
        source,
    })?;
    // Its own group: the group's id is the child's pid.
    let group = child
        .id()
        .and_then(|pid| i32::try_from(pid).ok())
        .map(|pid| Group(Pid::from_raw(pid)));
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        // Both were asked for as pipes above, so they are there; this keeps a broken promise
        // from turning into a panic.
        return Err(output_failed(program)(std::io::Error::other(
            "no output pipes",
        )));
    };
    Ok(Started {
        child,
        group,
        program: program.clone(),
        stdout,
        stderr,
    })
}

/// A command just started: the process, its group (killed when this is dropped), its name for
/// messages, and both its output pipes.
struct Started {
    child: tokio::process::Child,
    group: Option<Group>,
    program: String,
    stdout: tokio::process::ChildStdout,
    stderr: tokio::process::ChildStderr,
}

/// Runs `command` to its end, sending each line it prints (standard output and error, as they
/// come, each cut at [`STREAMED_LINE_BYTES`]) to `lines`, and returns how it ended. Dropping
/// the future kills the command's whole process group: that is how an action is cancelled or
/// timed out.
pub async fn stream(
    command: Command<'_>,
    lines: tokio::sync::mpsc::UnboundedSender<String>,
) -> Result<ExitStatus, ProcessError> {
    let Started {
        mut child,
        group: _group,
        program,
        stdout,
        stderr,
    } = spawn(command)?;
    let output_failed = output_failed(&program);
    let (out, err) = tokio::join!(forward_lines(stdout, &lines), forward_lines(stderr, &lines));
    out.and(err).map_err(output_failed)?;
    child.wait().await.map_err(output_failed)
}

/// A started command whose standard output is read as bytes (a dump) while its standard error
/// streams line by line; dropping it kills the command's whole process group.
pub struct ByteOutput {
    pub stdout: tokio::process::ChildStdout,
    child: tokio::process::Child,
    stderr: tokio::task::JoinHandle<std::io::Result<()>>,
    program: String,
    _group: Option<Group>,
}

impl ByteOutput {
    /// Waits for the command to end, once its standard output has been read to the end.
    pub async fn wait(mut self) -> Result<ExitStatus, ProcessError> {
        let output_failed = output_failed(&self.program);
        let status = self.child.wait().await.map_err(output_failed)?;
        match (&mut self.stderr).await {
            Ok(forwarded) => forwarded.map_err(output_failed)?,
            Err(join) => return Err(output_failed(std::io::Error::other(join))),
        }
        Ok(status)
    }
}

impl Drop for ByteOutput {
    fn drop(&mut self) {
        self.stderr.abort();
    }
}

/// Starts `command` for its standard output as bytes; each line of its standard error goes to
/// `lines` as [`stream`] sends them.
pub fn stream_bytes(
    command: Command<'_>,
    lines: tokio::sync::mpsc::UnboundedSender<String>,
) -> Result<ByteOutput, ProcessError> {
    let Started {
        child,
        group,
        program,
        stdout,
        stderr,
    } = spawn(command)?;
    let stderr = tokio::spawn(async move { forward_lines(stderr, &lines).await });
    Ok(ByteOutput {
        stdout,
        child,
        stderr,
        program,
        _group: group,
    })
}

/// Sends `reader`'s lines to `lines` until it ends. Bytes that are not UTF-8 are replaced, and
/// a line without end is cut rather than read into memory whole.
async fn forward_lines(
    reader: impl AsyncRead + Unpin,
    lines: &tokio::sync::mpsc::UnboundedSender<String>,
) -> std::io::Result<()> {
    use tokio::io::AsyncBufReadExt;
    let mut reader = tokio::io::BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(STREAMED_LINE_BYTES as u64)
            .read_until(b'\n', &mut line)
            .await?;
        if read == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        // A receiver that is gone (the job's log is no longer wanted) must not stop the
        // command: its output is still drained.
        let _ = lines.send(text.trim_end_matches(['\n', '\r']).to_owned());
    }
}

/// The error for `program`'s output that could not be read, or its end not waited for.
fn output_failed(program: &str) -> impl Fn(std::io::Error) -> ProcessError + Copy + '_ {
    move |source| ProcessError::Output {
        program: program.to_owned(),
        source,
    }
}

/// [`BASE_ENV`] and `pass_env`, as far as they are set in ondeck's environment.
fn environment(pass_env: &[String]) -> Vec<(String, std::ffi::OsString)> {
    BASE_ENV
        .iter()
        .copied()
        .chain(pass_env.iter().map(String::as_str))
        .filter_map(|name| std::env::var_os(name).map(|value| (name.to_owned(), value)))
        .collect()
}

/// Up to `limit` bytes; `None` when there is more (not read into memory).
pub async fn read_capped(
    reader: impl AsyncRead + Unpin,
    limit: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .await?;
    Ok((bytes.len() <= limit).then_some(bytes))
}

/// The start of a stream as text, draining the rest so the writer never blocks on a full pipe.
async fn keep_start_of(mut reader: impl AsyncRead + Unpin) -> String {
    let mut kept = Vec::new();
    // A read error only loses the explanation, not the result, so it is not an error here.
    let _ = (&mut reader)
        .take(STDERR_KEPT_BYTES)
        .read_to_end(&mut kept)
        .await;
    let _ = tokio::io::copy(&mut reader, &mut tokio::io::sink()).await;
    String::from_utf8_lossy(&kept).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_programs_are_beside_the_configuration() {
        let dir = Path::new("/etc/ondeck");
        assert_eq!(
            anchored("./scripts/deploy.py", dir),
            Path::new("/etc/ondeck/scripts/deploy.py")
        );
        assert_eq!(
            anchored("bin/state", dir),
            Path::new("/etc/ondeck/bin/state")
        );
        assert_eq!(anchored("python3", dir), Path::new("python3"));
        assert_eq!(anchored("/usr/bin/env", dir), Path::new("/usr/bin/env"));
        let relative = anchored("./x", Path::new("examples"));
        assert!(relative.is_absolute(), "{}", relative.display());
        // `--config config.toml`: the file's directory is the empty path.
        let beside = anchored("./state.sh", Path::new(""));
        assert!(beside.is_absolute(), "{}", beside.display());
        assert!(beside.ends_with("state.sh"));
    }

    #[tokio::test]
    async fn the_environment_is_the_allowlist_plus_what_is_named() {
        // Cargo sets its CARGO_* variables in the environment of every test it runs: one is
        // named, the other stands for a secret that must not be passed on.
        let output = run(
            Command {
                argv: &["env".to_owned()],
                pass_env: &["CARGO_PKG_NAME".to_owned()],
                set_env: &[("ONDECK_TARGET".to_owned(), "web-1".to_owned())],
                cwd: None,
            },
            1 << 20,
        )
        .await
        .unwrap();
        assert!(output.status.success());
        let printed = String::from_utf8(output.stdout).unwrap();
        let names: Vec<&str> = printed
            .lines()
            .filter_map(|line| line.split_once('=').map(|(name, _)| name))
            .collect();
        assert!(names.contains(&"CARGO_PKG_NAME"), "{names:?}");
        assert!(names.contains(&"PATH"), "{names:?}");
        assert!(printed.contains("ONDECK_TARGET=web-1\n"), "{printed}");
        assert!(
            names.iter().all(|name| BASE_ENV.contains(name)
                || ["CARGO_PKG_NAME", "ONDECK_TARGET"].contains(name)),
            "only the allowlist and the named variable: {names:?}"
        );
    }
}

#[cfg(test)]
mod stream_tests {
    use super::*;

    #[tokio::test]
    async fn both_outputs_arrive_line_by_line_and_long_lines_are_cut() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let script = "echo one; echo two >&2; head -c 9000 /dev/zero | tr '\\0' x; echo; exit 3";
        let status = stream(
            Command {
                argv: &["sh".to_owned(), "-c".to_owned(), script.to_owned()],
                pass_env: &[],
                set_env: &[],
                cwd: None,
            },
            tx,
        )
        .await
        .unwrap();
        assert_eq!(status.code(), Some(3));
        let mut lines = Vec::new();
        while let Ok(line) = rx.try_recv() {
            lines.push(line);
        }
        assert!(lines.contains(&"one".to_owned()), "{lines:?}");
        assert!(lines.contains(&"two".to_owned()), "{lines:?}");
        let long: Vec<usize> = lines
            .iter()
            .filter(|l| l.starts_with('x'))
            .map(String::len)
            .collect();
        assert_eq!(long, [STREAMED_LINE_BYTES, STREAMED_LINE_BYTES, 808]);
    }
}
