//! 1,000 HTTP health endpoints on loopback, each answering `{"status":"ok"}` after 50 ms, on
//! 1,000 ports, served by a child process: this benchmark binary started again with
//! `ONDECK_BENCH_SERVE` set, so the CPU time and memory measured in the parent (or in the
//! clients it starts) are the clients' alone.

#![allow(dead_code)] // Each benchmark uses its own subset.

#[path = "../../tests/support/fake_http.rs"]
mod fake_http;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fake_http::{FakeServer, Reply};

pub const ENDPOINTS: usize = 1000;
pub const ANSWER_DELAY: Duration = Duration::from_millis(50);
const SERVE_ENV: &str = "ONDECK_BENCH_SERVE";

/// The endpoint server, running until dropped.
pub struct Endpoints {
    server: Child,
    pub ports: Vec<u16>,
}

impl Endpoints {
    /// Starts the server process and waits until every port listens.
    pub fn start() -> Endpoints {
        raise_open_files_limit();
        let mut server = Command::new(std::env::current_exe().expect("own path"))
            .env(SERVE_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the endpoint server");
        let mut ports = String::new();
        BufReader::new(server.stdout.take().expect("piped stdout"))
            .read_line(&mut ports)
            .expect("the server's ports");
        let ports: Vec<u16> = ports
            .split_whitespace()
            .map(|port| port.parse().expect("a port number"))
            .collect();
        assert_eq!(ports.len(), ENDPOINTS, "the server bound every port");
        Endpoints { server, ports }
    }

    pub fn urls(&self) -> impl Iterator<Item = String> + '_ {
        self.ports
            .iter()
            .map(|port| format!("http://127.0.0.1:{port}/health"))
    }
}

impl Drop for Endpoints {
    fn drop(&mut self) {
        // Closing its stdin tells the server to exit.
        drop(self.server.stdin.take());
        let _ = self.server.wait();
    }
}

/// In the server process (started by [`Endpoints::start`]), serves until stdin closes and
/// returns true; in the benchmark itself returns false at once.
pub fn serve_if_asked() -> bool {
    if std::env::var_os(SERVE_ENV).is_none() {
        return false;
    }
    raise_open_files_limit();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let handler = Arc::new(|_: &fake_http::Request| {
            Reply::json(200, r#"{"status":"ok"}"#).after(ANSWER_DELAY)
        });
        let mut servers = Vec::with_capacity(ENDPOINTS);
        for _ in 0..ENDPOINTS {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a free loopback port");
            servers.push(FakeServer::serve(listener, handler.clone()));
        }
        let ports: Vec<String> = servers.iter().map(|s| s.addr.port().to_string()).collect();
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{}", ports.join(" ")).expect("write the ports");
        stdout.flush().expect("flush the ports");
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        })
        .await
        .expect("wait for stdin to close");
        drop(servers);
    });
    true
}

/// A thousand listeners and a thousand connections each side do not fit in the 1,024 open
/// files many systems allow by default; the processes started from here inherit the raised
/// limit.
fn raise_open_files_limit() {
    if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("could not raise the open files limit: {error}");
    }
}
