//! `kind = "openbao"` (or `vault`): the health of each node.

use crate::config::diagnostics::{Problems, Table};
use crate::config::values::url_list;

/// One or more nodes (`url` or `urls`).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenBaoSource {
    pub urls: Vec<String>,
    /// Whether a standby node (health 429, 472, 473) is up. Off by default: only the active node
    /// answers 200, and a lone node that stopped being active is a problem; an HA cluster whose
    /// standbys are expected turns it on.
    pub standby_ok: bool,
}

/// A node of an OpenBao source: the name its host row goes by and its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenBaoNode {
    pub name: String,
    /// Without a trailing slash.
    pub url: String,
}

impl OpenBaoSource {
    /// The source's nodes, each URL once. A single node is best known by the source's name
    /// (`bao`); several by their host and port.
    pub fn nodes(&self, source: &str) -> Vec<OpenBaoNode> {
        let mut urls: Vec<String> = Vec::with_capacity(self.urls.len());
        for url in &self.urls {
            let url = url.trim_end_matches('/').to_owned();
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
        match urls.as_slice() {
            [url] => vec![OpenBaoNode {
                url: url.clone(),
                name: source.to_owned(),
            }],
            _ => urls
                .into_iter()
                .map(|url| OpenBaoNode {
                    name: host_and_port(&url),
                    url,
                })
                .collect(),
        }
    }
}

fn host_and_port(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => match (parsed.host_str(), parsed.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => crate::config::mask_url(url),
        },
        Err(_) => crate::config::mask_url(url),
    }
}

pub(super) fn read_openbao(
    table: &mut Table<'_, '_>,
    problems: &mut Problems<'_>,
) -> Option<OpenBaoSource> {
    let standby_ok = table.bool(problems, "standby_ok").unwrap_or(false);
    url_list(table, problems).map(|urls| OpenBaoSource { urls, standby_ok })
}
