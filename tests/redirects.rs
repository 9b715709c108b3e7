//! Where a source's request may be redirected, against a server on loopback that redirects
//! every request to a second one: a source that carries credentials (headers, an API key in the
//! body, a token, a user in the URL) follows no redirect, any other follows one only within its
//! origin, and the second server receives nothing from any source kind. The poll's error names
//! the redirect it refused.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/fake_http.rs"]
mod fake_http;

use std::collections::BTreeMap;
use std::time::Duration;

use fake_http::{FakeServer, Reply};
use ondeck::config::{
    AlertmanagerSource, HttpSource, KasmSource, OpenBaoSource, PrometheusSource, ProxmoxSource,
    ReleaseFrom, ReleaseSource, Secret, SourceConfig, SourceSpec,
};
use ondeck::sources::{Poller, SharedClients, SourcePoller};

const HEALTHY: &str = r#"{"status":"ok"}"#;
/// Every credential the sources below send, none of which may show in an error.
const CREDENTIALS: [&str; 5] = [
    "pr0m-pw",
    "h34der-secret",
    "k4sm-key",
    "k4sm-secret",
    "pr0xmox-secret",
];

fn redirect(location: &str) -> Reply {
    Reply {
        delay: Duration::ZERO,
        bytes: format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes(),
        close: false,
    }
}

fn source(spec: SourceSpec) -> SourceConfig {
    SourceConfig {
        name: "redirected".into(),
        every: Duration::from_secs(10),
        timeout: Duration::from_secs(3),
        spec,
    }
}

fn http(url: String, headers: BTreeMap<String, Secret>) -> SourceSpec {
    SourceSpec::Http(HttpSource {
        url,
        expect_status: 200,
        expect_json: None,
        tls_warn_days: 14,
        latency_warn: None,
        headers,
    })
}

/// What the operator sees of one poll: its error, or everything it observed (a source with
/// several endpoints reports a failing one in its rows).
async fn poll_once(spec: SourceSpec) -> String {
    let mut poller = SourcePoller::new(&source(spec), &SharedClients::new()).unwrap();
    match poller.poll().await {
        Ok(observation) => format!("{observation:?}"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn no_source_kind_hands_its_credentials_to_the_server_it_is_redirected_to() {
    let elsewhere = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let target = elsewhere.url("/collect");
    let redirecting = {
        let target = target.clone();
        FakeServer::start(move |_| redirect(&target)).await
    };
    let base = redirecting.url("");
    let with_user = base.replacen("http://", "http://ops:pr0m-pw@", 1);

    let kinds: Vec<(&str, SourceSpec)> = vec![
        (
            "http with a custom header",
            http(
                redirecting.url("/healthz"),
                BTreeMap::from([(
                    "x-api-key".to_owned(),
                    Secret::Literal("h34der-secret".into()),
                )]),
            ),
        ),
        (
            "kasm",
            SourceSpec::Kasm(KasmSource {
                url: base.clone(),
                api_key: Secret::Literal("k4sm-key".into()),
                api_key_secret: Secret::Literal("k4sm-secret".into()),
                session_limit: 5,
            }),
        ),
        (
            "proxmox",
            SourceSpec::Proxmox(ProxmoxSource {
                url: base.clone(),
                token: Secret::Literal("monitor@pve!ondeck=pr0xmox-secret".into()),
                trust: Default::default(),
            }),
        ),
        (
            "prometheus",
            SourceSpec::Prometheus(PrometheusSource {
                url: with_user.clone(),
            }),
        ),
        (
            "alertmanager",
            SourceSpec::Alertmanager(AlertmanagerSource {
                urls: vec![with_user.clone()],
            }),
        ),
        (
            "openbao",
            SourceSpec::OpenBao(OpenBaoSource {
                urls: vec![with_user.clone()],
                standby_ok: false,
            }),
        ),
        (
            "release",
            SourceSpec::Release(ReleaseSource {
                from: ReleaseFrom::Url(format!("{with_user}/deploy-state")),
                environments: Vec::new(),
                pass_env: Vec::new(),
            }),
        ),
    ];
    for (kind, spec) in kinds {
        let seen = poll_once(spec).await;
        assert!(
            seen.contains("redirect refused") && seen.contains(&target),
            "{kind}: the poll names the refused redirect: {seen}"
        );
        assert!(seen.contains("credentials"), "{kind}: and says why: {seen}");
        for credential in CREDENTIALS {
            assert!(
                !seen.contains(credential),
                "{kind}: no credential in the error: {seen}"
            );
        }
    }
    let received = elsewhere.requests();
    assert!(
        received.is_empty(),
        "the second server received requests: {received:?}"
    );
    assert!(
        redirecting.requests().len() >= 7,
        "every kind asked the first server"
    );
}

#[tokio::test]
async fn a_source_without_credentials_follows_redirects_within_its_origin_only() {
    let elsewhere = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let target = elsewhere.url("/healthz");
    let server = {
        let target = target.clone();
        FakeServer::start(move |request| match request.route() {
            "/moved" => redirect("/healthz"),
            "/away" => redirect(&target),
            _ => Reply::json(200, HEALTHY),
        })
        .await
    };

    let moved = poll_once(http(server.url("/moved"), BTreeMap::new())).await;
    assert!(
        !moved.contains("redirect refused"),
        "a redirect within the origin is followed: {moved}"
    );
    let routes: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(routes, ["/moved", "/healthz"]);

    let away = poll_once(http(server.url("/away"), BTreeMap::new())).await;
    assert!(
        away.contains("redirect refused") && away.contains(&target),
        "{away}"
    );
    assert!(away.contains("same scheme, host and port"), "{away}");
    assert!(elsewhere.requests().is_empty());
}
