//! A small HTTP/1.1 server on loopback for the source tests and the HTTP benchmark.
//!
//! Written by hand on tokio's `TcpListener` rather than with a server framework: the fault
//! tests need a server that misbehaves on purpose — answers late, cuts a body short, sends a
//! body far larger than announced, disappears mid-run — which a framework is built to prevent,
//! and the benchmark needs a thousand listeners without a framework's compile time on a small
//! machine. It understands just enough HTTP: a request line, headers, a body of the length
//! `Content-Length` says, keep-alive, and a plain-text 400 to anything that does not start like a request (a TLS
//! ClientHello), as real plain-HTTP servers do.

#![allow(dead_code)] // Each test file uses its own subset.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

/// A request as the server saw it; header names are lower-case.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    /// The path without its query.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
}

/// What to send back, after how long, and whether to hang up afterwards.
#[derive(Debug, Clone)]
pub struct Reply {
    pub delay: Duration,
    pub bytes: Vec<u8>,
    pub close: bool,
}

impl Reply {
    /// A complete answer with a JSON body; the connection stays open for the next request.
    pub fn json(status: u16, body: &str) -> Reply {
        let head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            reason(status),
            body.len()
        );
        Reply {
            delay: Duration::ZERO,
            bytes: [head.as_bytes(), body.as_bytes()].concat(),
            close: false,
        }
    }

    /// Exactly these bytes, then the connection is closed.
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Reply {
        Reply {
            delay: Duration::ZERO,
            bytes: bytes.into(),
            close: true,
        }
    }

    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A running server; dropping it (or [`FakeServer::stop`]) closes the listener and every
/// connection, like a killed process.
pub struct FakeServer {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    /// Dropping it tells the server to close everything.
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl FakeServer {
    /// On a free loopback port.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> FakeServer {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        FakeServer::start_on(addr, handler)
            .await
            .expect("a free loopback port")
    }

    /// On `addr`, e.g. the port of a server stopped a moment ago.
    pub async fn start_on(
        addr: SocketAddr,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> io::Result<FakeServer> {
        let listener = TcpListener::bind(addr).await?;
        Ok(FakeServer::serve(listener, Arc::new(handler)))
    }

    /// Serves on a listener already bound (the benchmark binds a thousand before serving).
    pub fn serve(listener: TcpListener, handler: Handler) -> FakeServer {
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    // A send or a dropped sender alike.
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        match accepted {
                            Ok((stream, _)) => {
                                let handler = Arc::clone(&handler);
                                connections.spawn(connection(stream, handler, Arc::clone(&seen)));
                            }
                            // Out of file descriptors, say: wait for connections to close
                            // rather than spin on accept.
                            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                        }
                    }
                }
                // Reap finished connections so a long run does not accumulate them.
                while connections.try_join_next().is_some() {}
            }
            drop(listener);
            connections.shutdown().await;
        });
        FakeServer {
            addr,
            requests,
            stop,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Closes the listener and all connections, and returns once they are closed.
    pub async fn stop(self) {
        drop(self.stop);
        let _ = self.task.await;
    }
}

/// One client connection: read a request head, answer it, repeat until either side closes.
async fn connection(mut stream: TcpStream, handler: Handler, seen: Arc<Mutex<Vec<Request>>>) {
    let mut buffer = Vec::with_capacity(1024);
    loop {
        let request = match read_head(&mut stream, &mut buffer).await {
            Head::Request(mut request) => {
                if !read_body(&mut stream, &mut buffer, &mut request).await {
                    return;
                }
                request
            }
            Head::NotHttp => {
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                    .await;
                return;
            }
            Head::Closed => return,
        };
        let reply = handler(&request);
        seen.lock().unwrap().push(request);
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        if stream.write_all(&reply.bytes).await.is_err() || reply.close {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

/// The body `Content-Length` announces, from what is buffered and then the stream; false when
/// the client hung up first.
async fn read_body(stream: &mut TcpStream, buffer: &mut Vec<u8>, request: &mut Request) -> bool {
    let length: usize = request
        .headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    while buffer.len() < length {
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    request.body = buffer.drain(..length).collect();
    true
}

enum Head {
    Request(Request),
    NotHttp,
    Closed,
}

async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Head {
    loop {
        if buffer.first().is_some_and(|b| !b.is_ascii_uppercase()) {
            return Head::NotHttp;
        }
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            buffer.drain(..end + 4);
            return parse_head(&head).map_or(Head::NotHttp, Head::Request);
        }
        if buffer.len() > 64 * 1024 {
            return Head::NotHttp;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Head::Closed,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn parse_head(head: &str) -> Option<Request> {
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Some(Request {
        method,
        path,
        headers,
        body: Vec::new(),
    })
}
