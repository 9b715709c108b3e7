//! Operators on one shared PostgreSQL store see each other: each console lists the others in
//! its Sessions pane (a read-only one as such) and counts them in the status bar, a job started
//! elsewhere appears in every Jobs pane within a store refresh, and when the store goes away and
//! comes back both consoles say so and pick it up again by themselves.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::pty::Screen;

/// A loopback TCP proxy to the store that the test can cut (every connection closed, new ones
/// refused) and restore: the store restarted under the consoles, without touching the server
/// other tests share.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (accepting, tracked) = (Arc::clone(&down), Arc::clone(&open));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                if accepting.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut tracked = tracked.lock().unwrap();
                tracked.push(client.try_clone().unwrap());
                tracked.push(server.try_clone().unwrap());
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                    });
                };
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Proxy { port, down, open }
    }

    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

fn status_bar(screen: &str) -> &str {
    screen.lines().last().unwrap_or_default()
}

fn config(home: &Path, store_url: &str) -> String {
    let path = home.join("ondeck.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\nurl = \"{store_url}\"\n\n\
             [[source]]\nname = \"local\"\nkind = \"local\"\n\n\
             [[action]]\nname = \"mark\"\nkind = \"command\"\n\
             description = \"Leave a marker\"\nargv = [\"true\"]\nconfirm = \"enter\"\n"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs services: scripts/test-all.sh"]
async fn two_consoles_on_one_store_see_each_other_a_job_and_the_store_coming_back() {
    use sqlx::Executor;

    let admin_url = std::env::var("ONDECK_TEST_PG_URL").expect("ONDECK_TEST_PG_URL");
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let database = format!("ondeck_presence_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute(format!("CREATE DATABASE {database}").as_str())
        .await
        .unwrap();
    let upstream = url::Url::parse(&admin_url).unwrap();
    let proxy = Proxy::start(format!(
        "{}:{}",
        upstream.host_str().unwrap(),
        upstream.port().unwrap_or(5432)
    ));
    let mut store_url = upstream.clone();
    store_url.set_port(Some(proxy.port)).unwrap();
    store_url.set_path(&database);

    let (home_a, home_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config_a = config(home_a.path(), store_url.as_str());
    let config_b = config(home_b.path(), store_url.as_str());
    let mut acting = Screen::start(home_a.path(), &["--config", &config_a], 160, 40, &[]);
    let mut watching = Screen::start(
        home_b.path(),
        &["--read-only", "--config", &config_b],
        160,
        40,
        &[],
    );

    // Each sees the other: the acting console lists a read-only one (watching), and counts it.
    acting.type_keys("2");
    let seen = acting.wait_for("the watcher in Sessions and counted", |s| {
        s.contains("watching") && status_bar(s).contains("1 other console")
    });
    assert!(seen.contains("active"), "{seen}");
    watching.type_keys("2");
    watching.wait_for("the acting console counted", |s| {
        status_bar(s).contains("1 other console")
    });

    // A job started elsewhere on the store appears in both Jobs panes.
    let ran = tokio::process::Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .args(["run", "mark", "--target", "presence-check", "--yes"])
        .args(["--config", &config_a])
        .env("HOME", home_a.path())
        .output()
        .await
        .unwrap();
    assert!(ran.status.success(), "{ran:?}");
    for screen in [&mut acting, &mut watching] {
        screen.type_keys("3");
        screen.wait_for("the job in the Jobs pane", |s| {
            s.contains("presence-check") && s.contains("SUCCEEDED")
        });
    }

    // The store goes away under both, and comes back.
    proxy.cut();
    for screen in [&acting, &watching] {
        screen.wait_for("the store unavailable", |s| {
            status_bar(s).contains("store unavailable")
        });
    }
    proxy.restore();
    for screen in [&acting, &watching] {
        screen.wait_for("the store back", |s| {
            let bar = status_bar(s);
            !bar.contains("store unavailable") && bar.contains("1 other console")
        });
    }

    for screen in [&mut acting, &mut watching] {
        screen.type_keys("q");
        assert_eq!(screen.wait_exit(), 0);
    }
    admin
        .execute(format!("DROP DATABASE {database} WITH (FORCE)").as_str())
        .await
        .unwrap();
}
