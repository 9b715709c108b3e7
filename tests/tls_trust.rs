//! How ondeck trusts a server's certificate.
//!
//! PostgreSQL: a TLS front on loopback with a certificate from a test CA, in front of the test
//! server (`ONDECK_TEST_PG_URL`), the way PostgreSQL itself answers an `SSLRequest`. With
//! `sslmode=verify-full` (what every host that is not loopback gets by default; set explicitly
//! here because the front is on loopback) the connection is refused with a clear error; with the
//! test CA as `ca_file` it succeeds, for a source and for the store; loopback keeps working
//! without any configuration.
//!
//! HTTPS (Proxmox, which used to offer `verify_tls = false`): a self-signed lab certificate is
//! trusted through `ca_file` or `tls_pin_sha256`, and nothing else is.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/tls_server.rs"]
mod tls_server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ondeck::config::{PostgresSource, ProxmoxSource, Secret, TlsTrust};
use ondeck::sources::{Poller, PostgresPoller, ProxmoxPoller};
use ondeck::store::Store;
use sha2::{Digest, Sha256};
use tls_server::{TestCa, TlsServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

const NEEDS_SERVICES: &str = "scripts/test-all.sh";

/// The code of PostgreSQL's `SSLRequest`, sent by a client that wants TLS.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

fn pg_url() -> url::Url {
    let url = std::env::var("ONDECK_TEST_PG_URL").unwrap_or_else(|_| {
        panic!("ONDECK_TEST_PG_URL is not set; {NEEDS_SERVICES} starts PostgreSQL and sets it")
    });
    url::Url::parse(&url).unwrap()
}

/// Accepts TLS after an `SSLRequest`, as PostgreSQL does, and passes the decrypted session on
/// to the plain test server; a client that does not ask for TLS is hung up on.
struct TlsFront {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TlsFront {
    async fn start(acceptor: TlsAcceptor, upstream: SocketAddr) -> TlsFront {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 8];
                    if client.read_exact(&mut request).await.is_err() || request != SSL_REQUEST {
                        return;
                    }
                    if client.write_all(b"S").await.is_err() {
                        return;
                    }
                    // A client that refuses the certificate ends the handshake.
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
                });
            }
        });
        TlsFront { addr, task }
    }

    /// The test server's URL through this front, with `query` added.
    fn url(&self, query: &str) -> String {
        let mut url = pg_url();
        url.set_port(Some(self.addr.port())).unwrap();
        url.set_query(Some(query));
        url.to_string()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn front(ca: &TestCa) -> TlsFront {
    let url = pg_url();
    let upstream: SocketAddr =
        format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))
            .parse()
            .unwrap();
    TlsFront::start(ca.acceptor(30).0, upstream).await
}

fn write_ca(ca: &TestCa) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, &ca.pem).unwrap();
    (dir, path)
}

fn postgres(url: String, ca_file: Option<PathBuf>) -> PostgresPoller {
    let spec = PostgresSource {
        url: Secret::Literal(url),
        max_connections_warn: None,
        connections_warn_pct: None,
        replication_lag_warn: None,
        ca_file,
        queries: Vec::new(),
    };
    PostgresPoller::new("pg", spec, Duration::from_secs(10), Duration::from_secs(5))
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn verify_full_refuses_an_unknown_certificate_and_trusts_the_configured_ca() {
    let ca = TestCa::new();
    let front = front(&ca).await;

    let refused = postgres(front.url("sslmode=verify-full"), None)
        .poll()
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("TLS failed"), "{refused}");
    assert!(
        refused.contains("UnknownIssuer") || refused.contains("unknown issuer"),
        "says why: {refused}"
    );

    let (_dir, ca_file) = write_ca(&ca);
    let trusted = postgres(front.url("sslmode=verify-full"), Some(ca_file.clone()))
        .poll()
        .await;
    let observation = trusted.unwrap_or_else(|e| panic!("with the CA as ca_file: {e}"));
    assert!(observation.hosts[0].version.is_some());

    // The store takes the same way; `[store] ca_file` reaches it as the URL's `sslrootcert`.
    let error = match Store::open(&front.url("sslmode=verify-full")).await {
        Ok(_) => panic!("the store must refuse the certificate too"),
        Err(error) => error.to_string(),
    };
    assert!(
        error.contains("UnknownIssuer")
            || error.contains("unknown issuer")
            || error.contains("certificate"),
        "{error}"
    );
    let with_ca = front.url(&format!(
        "sslmode=verify-full&sslrootcert={}",
        ca_file.display()
    ));
    Store::open(&with_ca)
        .await
        .unwrap_or_else(|e| panic!("the store with the CA: {e}"));
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_loopback_server_needs_no_tls_configuration() {
    // The test server speaks no TLS at all: loopback goes plain by default.
    let observation = postgres(pg_url().to_string(), None).poll().await.unwrap();
    assert!(observation.hosts[0].version.is_some());
}

fn proxmox(server: &TlsServer, trust: TlsTrust) -> ProxmoxPoller {
    let spec = ProxmoxSource {
        url: server.url(""),
        token: Secret::Literal("monitor@pve!ondeck=0000".into()),
        trust,
    };
    ProxmoxPoller::new("pve", spec, Duration::from_secs(3)).unwrap()
}

/// The poll's error, as the Sources view shows it.
async fn proxmox_error(server: &TlsServer, trust: TlsTrust) -> String {
    proxmox(server, trust).poll().await.unwrap_err().to_string()
}

#[tokio::test]
async fn a_self_signed_https_server_is_trusted_by_its_ca_or_its_pin_and_nothing_else() {
    let ca = TestCa::new();
    let server = TlsServer::start(&ca, 30).await;

    let untrusted = proxmox_error(&server, TlsTrust::default()).await;
    assert!(untrusted.contains("TLS handshake failed"), "{untrusted}");

    // Past TLS, the test server's answer is not a Proxmox node list: that error shows the
    // handshake succeeded.
    let (_dir, ca_file) = write_ca(&ca);
    let by_ca = proxmox_error(
        &server,
        TlsTrust {
            ca_file: Some(ca_file),
            pin_sha256: None,
        },
    )
    .await;
    assert!(!by_ca.contains("TLS"), "{by_ca}");

    let pin: [u8; 32] = Sha256::digest(&server.certificate).into();
    let by_pin = proxmox_error(
        &server,
        TlsTrust {
            ca_file: None,
            pin_sha256: Some(pin),
        },
    )
    .await;
    assert!(!by_pin.contains("TLS"), "{by_pin}");

    let mut other = pin;
    other[0] ^= 0xff;
    let wrong_pin = proxmox_error(
        &server,
        TlsTrust {
            ca_file: None,
            pin_sha256: Some(other),
        },
    )
    .await;
    assert!(
        wrong_pin.contains("TLS handshake failed") && wrong_pin.contains("not the pinned one"),
        "{wrong_pin}"
    );
}
