//! An HTTPS endpoint on loopback with a certificate made for the test: a private CA, and a
//! server certificate for 127.0.0.1 that it signs, valid for as long as the test says.

#![allow(dead_code)] // Each test file uses its own subset.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use time::{Duration, OffsetDateTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// A CA that signs server certificates.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM, as a trust store file holds it.
    pub pem: String,
}

impl TestCa {
    pub fn new() -> TestCa {
        let key = KeyPair::generate().expect("a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "ondeck test CA");
        let pem = params.self_signed(&key).expect("the CA certificate").pem();
        TestCa {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A certificate for 127.0.0.1 that expires `days` from now (negative: expired), and its key.
    fn server_certificate(&self, days: i64) -> (Vec<u8>, Vec<u8>) {
        let key = KeyPair::generate().expect("a server key");
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(30);
        // An hour past the day, so a test that takes a moment still counts `days` whole days.
        params.not_after = now + Duration::days(days) + Duration::hours(1);
        let certificate = params
            .signed_by(&key, &self.issuer)
            .expect("the server certificate");
        (certificate.der().to_vec(), key.serialize_der())
    }
}

impl TestCa {
    /// The server side of TLS with a certificate for 127.0.0.1 that expires `days` from now,
    /// and that certificate (DER).
    pub fn acceptor(&self, days: i64) -> (TlsAcceptor, Vec<u8>) {
        let (certificate, key) = self.server_certificate(days);
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![pki_types::CertificateDer::from(certificate.clone())],
            pki_types::PrivateKeyDer::Pkcs8(key.into()),
        )
        .expect("a server TLS config");
        (TlsAcceptor::from(Arc::new(config)), certificate)
    }
}

/// Answers every request with `200 {"status":"ok"}` over TLS, until dropped.
pub struct TlsServer {
    pub addr: SocketAddr,
    /// Its certificate, DER.
    pub certificate: Vec<u8>,
    task: JoinHandle<()>,
}

impl TlsServer {
    pub async fn start(ca: &TestCa, days_left: i64) -> TlsServer {
        let (acceptor, certificate) = ca.acceptor(days_left);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to do.
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let body = r#"{"status":"ok"}"#;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        TlsServer {
            addr,
            certificate,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
