//! A private OpenBao server for the unseal tests: integrated storage in a temporary directory,
//! initialised with 5 key shares and threshold 3, left sealed. The `bao` binary is the one
//! `scripts/services.sh` installs. Each test gets a server of its own, since the tests unseal,
//! reset and seal it; it is stopped (by its pid) when dropped.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Bao {
    pub url: String,
    /// The five key shares, hex.
    pub keys: Vec<String>,
    child: Child,
    _dir: tempfile::TempDir,
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Bao {
    pub async fn start() -> Bao {
        let dir = tempfile::tempdir().unwrap();
        let (port, cluster_port) = (free_port(), free_port());
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let config = dir.path().join("bao.hcl");
        std::fs::write(
            &config,
            format!(
                r#"
storage "raft" {{
  path    = "{}"
  node_id = "n1"
}}
listener "tcp" {{
  address     = "127.0.0.1:{port}"
  tls_disable = true
}}
api_addr     = "http://127.0.0.1:{port}"
cluster_addr = "http://127.0.0.1:{cluster_port}"
disable_mlock = true
"#,
                data.display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new("bao")
            .arg("server")
            .arg(format!("-config={}", config.display()))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("the `bao` binary scripts/services.sh installs");
        let url = format!("http://127.0.0.1:{port}");
        let mut bao = Bao {
            url,
            keys: Vec::new(),
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while bao.try_status().await.is_none() {
            assert!(Instant::now() < deadline, "OpenBao did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let init = bao
            .put(
                "/v1/sys/init",
                json!({"secret_shares": 5, "secret_threshold": 3}),
            )
            .await;
        assert_eq!(init.0, 200, "init: {}", init.1);
        bao.keys = init.1["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(bao.keys.len(), 5);
        bao
    }

    async fn try_status(&self) -> Option<Value> {
        let answer = reqwest::get(format!("{}/v1/sys/seal-status", self.url))
            .await
            .ok()?;
        answer.json().await.ok()
    }

    pub async fn status(&self) -> Value {
        self.try_status().await.expect("the seal status")
    }

    /// PUT as another keyholder's client would, not through ondeck.
    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let answer = reqwest::Client::new()
            .put(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
