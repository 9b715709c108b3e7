//! The JSON Schema of the configuration file (`ondeck --print-config-schema`), for editors
//! whose TOML language server validates and completes `ondeck.toml`.
//!
//! Written by hand: the readers are hand-written validators over the TOML document (they report
//! every problem with its line, which serde types cannot), so there are no types to derive a
//! schema from. Its tests keep it from drifting: every table's keys are compared with the keys
//! its reader asks for (which the reader lists for an unknown key), and the embedded default and
//! every example validate against it.

use serde_json::{Value, json};

use super::action::ConfirmPolicy;

const DURATION: &str =
    "^\\s*[0-9]+(\\.[0-9]+)?\\s*[a-zµ]+(\\s*[0-9]+(\\.[0-9]+)?\\s*[a-zµ]+)*\\s*$";

fn described(mut schema: Value, description: &str) -> Value {
    if let Some(object) = schema.as_object_mut() {
        object.insert("description".into(), json!(description));
    }
    schema
}

fn string(description: &str) -> Value {
    described(json!({"type": "string"}), description)
}

fn duration(description: &str) -> Value {
    described(json!({"type": "string", "pattern": DURATION}), description)
}

fn boolean(description: &str) -> Value {
    described(json!({"type": "boolean"}), description)
}

fn number(description: &str) -> Value {
    described(json!({"type": "number"}), description)
}

fn integer(description: &str) -> Value {
    described(json!({"type": "integer"}), description)
}

fn strings(description: &str) -> Value {
    described(
        json!({"type": "array", "items": {"type": "string"}}),
        description,
    )
}

fn secret(description: &str) -> Value {
    string(&format!("{description} (`env:NAME` or `file:PATH`)"))
}

fn table(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// One `[[source]]` or `[[action]]` variant: the keys every one has, and its kind's.
fn variant(common: &Value, kinds: &[&str], own: Value, required: &[&str]) -> Value {
    let mut properties = common.clone();
    if let (Some(all), Value::Object(own)) = (properties.as_object_mut(), own) {
        all.extend(own);
        all.insert("kind".into(), json!({"enum": kinds}));
    }
    let mut required_keys = vec!["name", "kind"];
    required_keys.extend_from_slice(required);
    table(properties, &required_keys)
}

fn tls() -> Value {
    json!({
        "ca_file": string("A PEM file of the CA certificates that signed the server's certificate"),
        "tls_pin_sha256": string("The server certificate's SHA-256 fingerprint, as openssl prints it"),
    })
}

fn with(mut base: Value, more: Value) -> Value {
    if let (Some(all), Value::Object(more)) = (base.as_object_mut(), more) {
        all.extend(more);
    }
    base
}

fn url_or_urls() -> Value {
    json!({
        "url": string("The instance's base URL"),
        "urls": strings("Several instances' base URLs (an HA cluster)"),
    })
}

fn health() -> Value {
    table(
        json!({
            "url": string("The health URL that must answer after the action"),
            "within": duration("How long it has to answer as expected"),
            "expect_status": integer("The HTTP status that means healthy (default 200)"),
        }),
        &["url", "within"],
    )
}

fn retention() -> Value {
    table(
        json!({
            "keep": integer("How many backups to keep"),
            "max_age": duration("Backups older than this are removed"),
        }),
        &[],
    )
}

/// `copy_to`'s `s3` table.
fn s3() -> Value {
    table(
        json!({
            "endpoint": string("An S3-compatible server's URL (default: AWS); http:// only on loopback"),
            "region": string("The region (default: us-east-1)"),
            "access_key_id": secret("The access key id"),
            "secret_access_key": secret("The secret access key (env: or file: only)"),
        }),
        &["access_key_id", "secret_access_key"],
    )
}

fn query() -> Value {
    table(
        json!({
            "name": string("The query's name"),
            "sql": string("A SELECT; its rows become hosts, jobs or audit records"),
            "maps_to": {"enum": ["hosts", "jobs", "audit"]},
            "down_after": duration("A host row older than this (by `last_seen`) is down"),
            "max_rows": integer("At most this many rows are read"),
            "columns": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Row field = result column",
            },
        }),
        &["name", "sql", "maps_to"],
    )
}

fn sources() -> Value {
    let common = json!({
        "name": string("The source's name, unique"),
        "every": duration("How often it is polled"),
        "timeout": duration("How long one poll may take"),
        "dangerous_plain_http_credentials": boolean("Allow sending credentials over plain http to another machine"),
    });
    let variants = [
        variant(
            &common,
            &["local"],
            json!({
                "cpu_max_pct": number("CPU above this for five minutes is an alert"),
                "mem_free_min_gib": number("Less free memory than this is an alert"),
                "disk_free_min_pct": number("A file system with less free space than this is an alert"),
            }),
            &[],
        ),
        variant(
            &common,
            &["http"],
            json!({
                "url": string("The health URL"),
                "expect_status": integer("The HTTP status that means healthy (default 200)"),
                "expect_json": {"type": "object", "description": "Fields the JSON body must hold with these values"},
                "tls_warn_days": integer("Warn when the certificate expires in fewer days"),
                "latency_warn": duration("An answer slower than this is degraded"),
                "headers": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Request headers; values may be `env:NAME` or `file:PATH`",
                },
            }),
            &["url"],
        ),
        variant(
            &common,
            &["prometheus"],
            json!({"url": string("Prometheus's base URL")}),
            &["url"],
        ),
        variant(&common, &["alertmanager"], url_or_urls(), &[]),
        variant(
            &common,
            &["openbao", "vault"],
            with(
                url_or_urls(),
                json!({"standby_ok": boolean("A healthy standby counts as up")}),
            ),
            &[],
        ),
        variant(
            &common,
            &["postgres"],
            json!({
                "url": secret("The connection URL; its password"),
                "ca_file": string("A PEM file of the CA certificates that signed the server's certificate"),
                "max_connections_warn": integer("Warn above this many connections"),
                "connections_warn_pct": number("Warn above this share of max_connections, in percent"),
                "replication_lag_warn": duration("Warn when a replica lags more"),
                "query": {"type": "array", "items": query()},
            }),
            &["url"],
        ),
        variant(
            &common,
            &["proxmox"],
            with(
                json!({
                    "url": string("The cluster's API URL, https://pve.example.com:8006"),
                    "token": secret("The API token, USER@REALM!ID=SECRET"),
                    "verify_tls": {"not": {}, "description": "No longer a setting: trust the server with ca_file or tls_pin_sha256"},
                }),
                tls(),
            ),
            &["url", "token"],
        ),
        variant(
            &common,
            &["kasm"],
            json!({
                "url": string("The Kasm Workspaces URL"),
                "api_key": secret("The API key"),
                "api_key_secret": secret("The API key secret"),
                "session_limit": integer("Warn above this many active sessions"),
            }),
            &["url", "api_key", "api_key_secret"],
        ),
        variant(
            &common,
            &["release"],
            json!({
                "url": string("Where the deploy state is served"),
                "file": string("A file holding the deploy state"),
                "argv": strings("A command printing the deploy state"),
                "environments": strings("The environments to read from the deploy state"),
                "pass_env": strings("Environment variables the command gets"),
            }),
            &[],
        ),
    ];
    json!({"type": "array", "items": {"oneOf": variants}})
}

fn actions() -> Value {
    let confirm: Vec<&str> = ConfirmPolicy::ALL
        .iter()
        .map(|policy| policy.name())
        .collect();
    let common = json!({
        "name": string("The action's name, unique"),
        "description": string("A short sentence"),
        "confirm": {"enum": confirm, "description": "How the operator confirms it"},
        "approval_expires": duration(
            "confirm = \"two-person\": how long the request waits for another operator's \
             approval (30s to 1d, default 15m)"
        ),
    });
    let source = || string("The name of the [[source]] it acts on");
    let argv = || strings("The program and its arguments, run without a shell");
    let timeout = || duration("How long it may run");
    let dir = || string("The backups directory");
    let variants = [
        variant(
            &common,
            &["pg_backup"],
            json!({
                "database": secret("The database URL"),
                "dir": dir(),
                "retention": retention(),
                "sentinel": boolean("Write a sentinel row first and check the dump holds it"),
                "bin_dir": string("Where pg_dump is (default: PATH)"),
                "timeout": timeout(),
                "copy_to": string("s3://BUCKET/PREFIX: each backup copied off-site, retention applied there too"),
                "s3": s3(),
                "max_backup_age": duration("Its Hosts row warns when the newest good backup is older"),
                "max_drill_age": duration("Its Hosts row warns when the last passed drill is older"),
            }),
            &["database", "dir"],
        ),
        variant(
            &common,
            &["pg_restore"],
            json!({
                "database": secret("The database URL"),
                "dir": dir(),
                "drill": boolean("Restore into a scratch database, then drop it"),
                "backup": string("A dump's file name in `dir` (default: the newest good one)"),
                "backup_of": string("The database the dumps are of, when it is another one"),
                "stop": strings("A command run before the restore, e.g. [\"systemctl\", \"stop\", \"app\"]"),
                "start": strings("A command run after the restore"),
                "bin_dir": string("Where pg_restore and psql are (default: PATH)"),
                "timeout": timeout(),
                "health": health(),
                "copy_to": string("The backup action's s3://BUCKET/PREFIX, pulled from when a backup is not in `dir`"),
                "s3": s3(),
            }),
            &["database", "dir"],
        ),
        variant(
            &common,
            &["file_backup"],
            json!({"paths": strings("The files and directories to back up"), "dir": dir(), "retention": retention()}),
            &[],
        ),
        variant(
            &common,
            &["file_restore"],
            json!({
                "dir": dir(),
                "target": string("Where to restore to (default: where the backup was taken from)"),
                "backup": string("An archive's file name in `dir` (default: the newest good one)"),
                "backup_of": string("The file_backup action whose archives are restored"),
                "health": health(),
            }),
            &[],
        ),
        variant(
            &common,
            &["unseal"],
            json!({"source": source()}),
            &["source"],
        ),
        variant(
            &common,
            &["rollback"],
            json!({"source": source(), "argv": argv(), "timeout": timeout(), "health": health()}),
            &["source", "argv"],
        ),
        variant(
            &common,
            &["command"],
            json!({
                "argv": argv(),
                "cwd": string("The working directory"),
                "timeout": timeout(),
                "health": health(),
            }),
            &["argv"],
        ),
        variant(
            &common,
            &["silence"],
            json!({
                "source": source(),
                "duration": duration("How long the silence lasts"),
                "comment": string("The silence's comment"),
            }),
            &["source"],
        ),
        variant(
            &common,
            &["terminate_session"],
            json!({
                "source": source(),
                "allow_superuser": boolean("Also end sessions of PostgreSQL superuser roles (default false)"),
                "database": secret("A postgres source: the database URL of a role allowed to end backends, when the source's may only read"),
            }),
            &["source"],
        ),
        variant(
            &common,
            &["approve", "deny"],
            json!({
                "source": source(),
                "sql": string("The UPDATE that approves or denies; $1 is the job id, $2 the operator"),
                "database": secret("The database URL of a role allowed to run `sql`, when the source's may only read"),
            }),
            &["source"],
        ),
    ];
    json!({"type": "array", "items": {"oneOf": variants}})
}

/// The schema (JSON Schema draft 7, which TOML language servers read).
pub fn json_schema() -> Value {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "ondeck configuration",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "console": table(json!({
                "theme": string("A theme name (default, high-contrast, monochrome, solarized-dark) or path"),
                "keymap": string("A keymap name (default, vim, emacs) or path"),
                "operator": string("The name recorded in every audit record; default: $USER"),
                "read_only": boolean("No action can be started"),
            }), &[]),
            "store": table(json!({
                "url": string("sqlite://PATH, or postgres://… to share the store between operators"),
                "ca_file": string("A PEM file of the CA certificates that signed the PostgreSQL server's certificate"),
            }), &[]),
            "wall": table(json!({
                "rotate": duration("How long the wall's detail area shows each of Hosts, Alerts and Jobs; default 20s"),
                "highlight": duration("How long a new critical alert stays highlighted on the wall; default 5m"),
                "bell": boolean("Ring the terminal bell once for each new critical alert on the wall"),
                "seconds": boolean("Show seconds on the wall's clock"),
            }), &[]),
            "source": sources(),
            "action": actions(),
            "operator": {"type": "array", "items": table(json!({
                "name": string("The operator's OS account (login name)"),
                "totp_secret": string("env:NAME or file:PATH: the base32 secret of the operator's authenticator, for actions confirmed by totp"),
            }), &["name", "totp_secret"])},
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use strum::VariantArray;

    use super::*;
    use crate::config::action::ActionKind;
    use crate::config::parse::parse;
    use crate::config::source::SourceKind;

    const UNKNOWN: &str = "zqxwvj_unknown";

    /// The sources the actions below refer to.
    const SOURCES: &str = r#"
[[source]]
name = "bao"
kind = "openbao"
url = "http://127.0.0.1:8200"

[[source]]
name = "rel"
kind = "release"
file = "/srv/app/deploy-state.json"

[[source]]
name = "am"
kind = "alertmanager"
url = "http://127.0.0.1:9093"

[[source]]
name = "pg"
kind = "postgres"
url = "postgres://ondeck@127.0.0.1/ondeck"
"#;

    /// A minimal valid table of each kind, by the kind's name.
    fn source_table(kind: &str) -> String {
        let keys = match kind {
            "http" | "prometheus" | "alertmanager" | "openbao" | "vault" => {
                "url = \"http://127.0.0.1:1\""
            }
            "postgres" => "url = \"postgres://ondeck@127.0.0.1/ondeck\"",
            "proxmox" => "url = \"https://pve.example.com:8006\"\ntoken = \"env:PVE_TOKEN\"",
            "kasm" => {
                "url = \"https://kasm.example.com\"\napi_key = \"env:K\"\napi_key_secret = \"env:S\""
            }
            "release" => "file = \"/srv/app/deploy-state.json\"",
            _ => "",
        };
        format!("[[source]]\nname = \"s-{kind}\"\nkind = \"{kind}\"\n{keys}\n")
    }

    fn action_table(kind: &str) -> String {
        let keys = match kind {
            "pg_backup" | "pg_restore" => {
                "database = \"postgres://ondeck@127.0.0.1/ondeck\"\ndir = \"/var/backups/ondeck\""
            }
            "file_backup" => "paths = [\"/etc/hosts\"]",
            "unseal" => "source = \"bao\"",
            "rollback" => "source = \"rel\"\nargv = [\"true\"]",
            "command" => "argv = [\"true\"]",
            "silence" => "source = \"am\"",
            "terminate_session" => "source = \"pg\"",
            "approve" | "deny" => {
                "source = \"pg\"\nsql = \"UPDATE jobs SET status = 'APPROVED' WHERE id = $1\""
            }
            _ => "",
        };
        format!("[[action]]\nname = \"a-{kind}\"\nkind = \"{kind}\"\n{keys}\n")
    }

    fn as_json(text: &str) -> Value {
        toml::from_str(text).unwrap()
    }

    /// The keys the reader asked for in the table holding `UNKNOWN`, as its message lists them.
    fn reader_keys(text: &str) -> BTreeSet<String> {
        let diagnostics = parse("t.toml", text, None).expect_err("an unknown key is refused");
        let unknown = diagnostics
            .iter()
            .find(|d| d.key.ends_with(UNKNOWN))
            .unwrap_or_else(|| panic!("no diagnostic for the unknown key: {diagnostics:?}"));
        let (_, list) = unknown
            .message
            .split_once("Valid keys here: ")
            .unwrap_or_else(|| panic!("no key list in {:?}", unknown.message));
        list.trim_end_matches('.')
            .split(", ")
            .map(|key| key.trim_matches('`').to_owned())
            .collect()
    }

    fn schema_keys(table: &Value) -> BTreeSet<String> {
        table["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    /// The `oneOf` variant for `kind`.
    fn variant_for<'s>(list: &'s Value, kind: &str) -> &'s Value {
        list["items"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|variant| {
                variant["properties"]["kind"]["enum"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(kind))
            })
            .unwrap_or_else(|| panic!("no schema for kind {kind}"))
    }

    /// `valid` is read by the parser and the schema; with an unknown key in the table `at`
    /// (a header line to add the key after, or the end), both refuse it, and the reader's keys
    /// there are the schema's.
    fn check(valid: &str, insert_after: Option<&str>, schema_table: &Value) {
        let schema = json_schema();
        let validator = jsonschema::draft7::new(&schema).unwrap();
        if let Err(diagnostics) = parse("t.toml", valid, None) {
            panic!("not valid: {diagnostics:?}\n{valid}");
        }
        let errors: Vec<String> = validator
            .iter_errors(&as_json(valid))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "the schema refuses\n{valid}\n{errors:?}");

        let line = format!("{UNKNOWN} = 1\n");
        let with_unknown = match insert_after {
            Some(header) => valid.replacen(header, &format!("{header}\n{line}"), 1),
            None => format!("{valid}{line}"),
        };
        assert!(
            !validator.is_valid(&as_json(&with_unknown)),
            "the schema takes an unknown key:\n{with_unknown}"
        );
        assert_eq!(
            reader_keys(&with_unknown),
            schema_keys(schema_table),
            "the reader's keys (left) and the schema's (right) differ:\n{with_unknown}"
        );
    }

    #[test]
    fn every_source_kind_has_the_keys_its_reader_reads() {
        let schema = json_schema();
        for kind in SourceKind::VARIANTS {
            let kind = kind.to_string();
            let table = source_table(&kind);
            check(
                &table,
                None,
                variant_for(&schema["properties"]["source"], &kind),
            );
        }
    }

    #[test]
    fn every_action_kind_has_the_keys_its_reader_reads() {
        let schema = json_schema();
        for kind in ActionKind::VARIANTS {
            let document = format!("{SOURCES}\n{}", action_table(kind.name()));
            let variant = variant_for(&schema["properties"]["action"], kind.name());
            check(&document, None, variant);
        }
    }

    #[test]
    fn nested_tables_have_the_keys_their_readers_read() {
        let schema = json_schema();
        let properties = &schema["properties"];
        let root = as_json("");
        check("[console]\n", Some("[console]"), &properties["console"]);
        check(
            "[[operator]]\nname = \"alice\"\ntotp_secret = \"env:ALICE_TOTP\"\n",
            Some("[[operator]]"),
            &properties["operator"]["items"],
        );
        // `ca_file` is read for PostgreSQL only.
        check(
            "[store]\nurl = \"postgres://ondeck@127.0.0.1/ondeck\"\n",
            Some("[store]"),
            &properties["store"],
        );
        let _ = root;
        let query = "[[source]]\nname = \"pg\"\nkind = \"postgres\"\nurl = \"postgres://ondeck@127.0.0.1/ondeck\"\n\n[[source.query]]\nname = \"q\"\nsql = \"SELECT 1\"\nmaps_to = \"hosts\"\n";
        check(
            query,
            None,
            &variant_for(&properties["source"], "postgres")["properties"]["query"]["items"],
        );
        let with_health = format!(
            "{}\n[action.health]\nurl = \"http://127.0.0.1:1/healthz\"\nwithin = \"30s\"\n",
            action_table("command")
        );
        check(
            &with_health,
            None,
            &variant_for(&properties["action"], "command")["properties"]["health"],
        );
        let with_retention = format!(
            "{}\n[action.retention]\nkeep = 3\n",
            action_table("file_backup")
        );
        check(
            &with_retention,
            None,
            &variant_for(&properties["action"], "file_backup")["properties"]["retention"],
        );
    }

    #[test]
    fn the_top_level_has_the_tables_the_parser_reads() {
        let schema = json_schema();
        let text = format!("{UNKNOWN} = 1\n");
        assert_eq!(reader_keys(&text), schema_keys(&schema));
    }

    #[test]
    fn the_default_configuration_and_every_example_validate() {
        let schema = json_schema();
        let validator = jsonschema::draft7::new(&schema).unwrap();
        let mut files = vec![(
            "default".to_owned(),
            super::super::DEFAULT_CONFIG.to_owned(),
        )];
        let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        for entry in std::fs::read_dir(examples).unwrap() {
            let path = entry.unwrap().path();
            files.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
        assert!(files.len() > 1, "no examples found");
        for (name, text) in files {
            let errors: Vec<String> = validator
                .iter_errors(&as_json(&text))
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{name} does not validate: {errors:?}");
        }
    }
}
