//! PostgreSQL for the backup kinds: the connection the tools get (in their environment, never
//! on their command line), the versions, the per-table row counts, the sentinel, what an
//! archive says of itself, and the scratch databases of drills.

use std::collections::BTreeMap;
use std::path::Path;

use sqlx::postgres::PgConnection;
use sqlx::{Connection, Executor, Row};

use super::manifest::SENTINEL_TABLE;
use crate::config::transport::{mode_name, pg_connect_options};
use crate::config::{PgTransport, Secret, mask_url};
use crate::process;

/// How ondeck's own sessions name themselves to the server.
const APPLICATION_NAME: &str = "ondeck";
/// The most `pg_restore --list` or `--version` may print; a table of contents of a large
/// database is a few MiB.
const TOOL_OUTPUT_BYTES: usize = 64 << 20;
/// A drill's scratch database: `<db>_drill_<YYYYmmddHHMMSS>`.
const DRILL_INFIX: &str = "_drill_";
const DRILL_STAMP: &str = "%Y%m%d%H%M%S";
const DRILL_STAMP_LEN: usize = 14;
/// The comment a scratch database carries: which job made it.
const DRILL_COMMENT: &str = "ondeck drill, job ";
/// PostgreSQL's longest identifier, in bytes.
const MAX_IDENTIFIER: usize = 63;

/// A configured database: its resolved URL (a secret: never shown), the URL as shown, and
/// the database it names.
#[derive(Clone)]
pub struct PgDatabase {
    url: String,
    pub shown: String,
    pub name: String,
}

impl std::fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgDatabase({})", self.shown)
    }
}

impl PgDatabase {
    /// Resolves `secret`; the error says what is wrong without the secret's value.
    pub fn resolve(secret: &Secret) -> Result<PgDatabase, String> {
        let url = secret.resolve().map_err(|e| e.to_string())?;
        let shown = mask_url(&url);
        let options = pg_connect_options(&url, None)
            .map_err(|_| format!("the database URL ({secret}) is not a PostgreSQL URL"))?;
        let name = options
            .get_database()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| {
                format!("the database URL ({shown}) names no database: add it, as in …/app")
            })?
            .to_owned();
        Ok(PgDatabase { url, shown, name })
    }

    /// The same server, another database.
    pub fn with_name(&self, name: &str) -> PgDatabase {
        PgDatabase {
            url: self.url.clone(),
            shown: self.shown.clone(),
            name: name.to_owned(),
        }
    }

    pub async fn connect(&self) -> Result<PgConnection, String> {
        let options = pg_connect_options(&self.url, None)
            .map_err(|e| format!("{}: {e}", self.shown))?
            .database(&self.name)
            .application_name(APPLICATION_NAME);
        PgConnection::connect_with(&options).await.map_err(|e| {
            format!(
                "connecting to {} ({}): {}",
                self.name,
                self.shown,
                one_line(&e)
            )
        })
    }

    /// The libpq variables that connect a PostgreSQL tool to this database: the password in
    /// `PGPASSWORD`, where other accounts cannot read it (a command line they can), and TLS as
    /// ondeck's own connections do it.
    pub fn tool_env(&self) -> Result<Vec<(String, String)>, String> {
        let options =
            pg_connect_options(&self.url, None).map_err(|e| format!("{}: {e}", self.shown))?;
        let mut env = vec![
            ("PGDATABASE".to_owned(), self.name.clone()),
            ("PGPORT".to_owned(), options.get_port().to_string()),
            ("PGUSER".to_owned(), options.get_username().to_owned()),
            ("PGAPPNAME".to_owned(), APPLICATION_NAME.to_owned()),
            ("PGCONNECT_TIMEOUT".to_owned(), "10".to_owned()),
        ];
        let host = match options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => options.get_host().to_owned(),
        };
        env.push(("PGHOST".to_owned(), host));
        let transport = PgTransport::of(&self.url, None);
        env.push(("PGSSLMODE".to_owned(), mode_name(transport.mode).to_owned()));
        if let Some(ca) = transport.ca_file {
            env.push(("PGSSLROOTCERT".to_owned(), ca.display().to_string()));
        }
        let password = url::Url::parse(&self.url)
            .ok()
            .and_then(|url| url.password().map(str::to_owned))
            .map(|encoded| {
                percent_encoding::percent_decode_str(&encoded)
                    .decode_utf8_lossy()
                    .into_owned()
            });
        if let Some(password) = password {
            env.push(("PGPASSWORD".to_owned(), password));
        }
        Ok(env)
    }
}

/// A PostgreSQL program: `bin_dir/NAME` when configured, else found in `PATH`.
pub fn tool(bin_dir: Option<&Path>, name: &str) -> String {
    match bin_dir {
        Some(dir) => dir.join(name).display().to_string(),
        None => name.to_owned(),
    }
}

/// `15.18` from `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`.
pub async fn tool_version(program: &str) -> Result<String, String> {
    let argv = [program.to_owned(), "--version".to_owned()];
    let output = process::run(process::Command::new(&argv, &[]), TOOL_OUTPUT_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_owned)
        .ok_or_else(|| format!("`{program} --version` printed no version: {}", text.trim()))
}

/// The major version of `15.18`, `9.6.24`, `16beta1`: what decides whether a client can dump
/// a server.
pub fn major(version: &str) -> Option<u32> {
    let digits: String = version.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// The server's version (`15.18`).
pub async fn server_version(connection: &mut PgConnection) -> Result<String, String> {
    let row = connection
        .fetch_one("SHOW server_version")
        .await
        .map_err(|e| one_line(&e))?;
    let version: String = row.try_get(0).map_err(|e| one_line(&e))?;
    // `15.18 (Debian 15.18-0+deb12u1)`
    Ok(version
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned())
}

/// Why `tool` (of `tool_version`) cannot dump or restore a server of `server_version`, if so:
/// a client older than the server refuses, after having connected.
pub fn version_problem(tool: &str, tool_version: &str, server_version: &str) -> Option<String> {
    let (Some(client), Some(server)) = (major(tool_version), major(server_version)) else {
        return None;
    };
    (client < server).then(|| {
        format!(
            "{tool} {tool_version} is older than the server (PostgreSQL {server_version}) and \
             cannot work with it: install the PostgreSQL {server} client tools and set `bin_dir` \
             to where they are (such as /usr/lib/postgresql/{server}/bin)"
        )
    })
}

/// Rows per ordinary table (`schema.table`), outside the system schemas, counted exactly in
/// the connection's current transaction.
pub async fn table_counts(connection: &mut PgConnection) -> Result<BTreeMap<String, i64>, String> {
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1, 2",
    )
    .fetch_all(&mut *connection)
    .await
    .map_err(|e| one_line(&e))?;
    let mut counts = BTreeMap::new();
    for (schema, table) in tables {
        // Identifiers cannot be bound; the server quotes them (`format`'s %I).
        let (statement,): (String,) =
            sqlx::query_as("SELECT format('SELECT count(*) FROM %I.%I', $1::text, $2::text)")
                .bind(&schema)
                .bind(&table)
                .fetch_one(&mut *connection)
                .await
                .map_err(|e| one_line(&e))?;
        let row = connection
            .fetch_one(statement.as_str())
            .await
            .map_err(|e| format!("counting {schema}.{table}: {}", one_line(&e)))?;
        let count: i64 = row.try_get(0).map_err(|e| one_line(&e))?;
        counts.insert(format!("{schema}.{table}"), count);
    }
    Ok(counts)
}

/// Writes the sentinel row (creating its table the first time) and commits it.
pub async fn write_sentinel(
    connection: &mut PgConnection,
    id: &str,
    job_id: &str,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    connection
        .execute(
            format!(
                "CREATE TABLE IF NOT EXISTS {SENTINEL_TABLE} (id text PRIMARY KEY, \
                 job_id text NOT NULL, written_at timestamptz NOT NULL)"
            )
            .as_str(),
        )
        .await
        .map_err(|e| format!("creating the sentinel table: {}", one_line(&e)))?;
    let written_at = chrono::Utc::now();
    sqlx::query(&format!(
        "INSERT INTO {SENTINEL_TABLE} (id, job_id, written_at) VALUES ($1, $2, $3)"
    ))
    .bind(id)
    .bind(job_id)
    .bind(written_at)
    .execute(&mut *connection)
    .await
    .map_err(|e| format!("writing the sentinel row: {}", one_line(&e)))?;
    Ok(written_at)
}

/// Whether the sentinel row `id` is in the database.
pub async fn has_sentinel(connection: &mut PgConnection, id: &str) -> Result<bool, String> {
    let (count,): (i64,) = sqlx::query_as(&format!(
        "SELECT count(*) FROM {SENTINEL_TABLE} WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *connection)
    .await
    .map_err(|e| format!("reading the sentinel: {}", one_line(&e)))?;
    Ok(count == 1)
}

/// Checks that `pg_restore --list` reads `archive` and that it is a dump of `database`.
pub async fn check_archive(pg_restore: &str, archive: &Path, database: &str) -> Result<(), String> {
    let argv = [
        pg_restore.to_owned(),
        "--list".to_owned(),
        archive.display().to_string(),
    ];
    let output = process::run(process::Command::new(&argv, &[]), TOOL_OUTPUT_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "pg_restore --list cannot read it: {}",
            output
                .stderr_first_line
                .unwrap_or_else(|| "no reason given".to_owned())
        ));
    }
    let listing = String::from_utf8_lossy(&output.stdout);
    match archive_database(&listing) {
        Some(name) if name == database => Ok(()),
        Some(name) => Err(format!(
            "it is a dump of the database {name}, not of {database}"
        )),
        None => Err("pg_restore --list names no database in it".to_owned()),
    }
}

/// The database name in the header of `pg_restore --list`: `;     dbname: app`.
pub fn archive_database(listing: &str) -> Option<&str> {
    listing
        .lines()
        .take_while(|line| line.starts_with(';'))
        .find_map(|line| line.trim_start_matches(';').trim().strip_prefix("dbname: "))
        .map(str::trim)
}

/// The scratch database of a drill of `database` started at `now`.
pub fn drill_database(database: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "{}{DRILL_INFIX}{}",
        drill_base(database),
        now.format(DRILL_STAMP)
    )
}

/// `database`, cut (at a character boundary) so that its drill databases' names fit an
/// identifier.
fn drill_base(database: &str) -> &str {
    let room = MAX_IDENTIFIER - DRILL_INFIX.len() - DRILL_STAMP_LEN;
    let mut end = database.len().min(room);
    while !database.is_char_boundary(end) {
        end -= 1;
    }
    &database[..end]
}

/// Whether `name` is a drill's scratch database of `database`.
pub fn is_drill_of(name: &str, database: &str) -> bool {
    drill_stamp_of(name).is_some()
        && name.len() == drill_base(database).len() + DRILL_INFIX.len() + DRILL_STAMP_LEN
        && name.starts_with(&format!("{}{DRILL_INFIX}", drill_base(database)))
}

fn drill_stamp_of(name: &str) -> Option<&str> {
    let (_, stamp) = name.rsplit_once(DRILL_INFIX)?;
    (stamp.len() == DRILL_STAMP_LEN && stamp.bytes().all(|b| b.is_ascii_digit())).then_some(stamp)
}

/// Runs a statement the server builds with `format` from `template` and bound `args`: how
/// identifiers and literals get into statements that take no parameters (CREATE DATABASE).
async fn execute_formatted(
    connection: &mut PgConnection,
    template: &str,
    args: &[&str],
) -> Result<(), String> {
    let placeholders: Vec<String> = (1..=args.len()).map(|n| format!("${n}::text")).collect();
    // The template is ours, a constant; only `args` come from elsewhere, and are bound.
    let sql = format!("SELECT format('{template}', {})", placeholders.join(", "));
    let mut query = sqlx::query_as::<_, (String,)>(&sql);
    for arg in args {
        query = query.bind(*arg);
    }
    let (statement,) = query
        .fetch_one(&mut *connection)
        .await
        .map_err(|e| one_line(&e))?;
    connection
        .execute(statement.as_str())
        .await
        .map(|_| ())
        .map_err(|e| one_line(&e))
}

/// Creates the scratch database `name`, marked as the drill of `job_id`.
pub async fn create_drill_database(
    connection: &mut PgConnection,
    name: &str,
    job_id: &str,
) -> Result<(), String> {
    execute_formatted(connection, "CREATE DATABASE %I", &[name]).await?;
    let comment = format!("{DRILL_COMMENT}{job_id}");
    execute_formatted(
        connection,
        "COMMENT ON DATABASE %I IS %L",
        &[name, &comment],
    )
    .await
}

/// Drops a scratch database, ending the sessions still in it.
pub async fn drop_database(connection: &mut PgConnection, name: &str) -> Result<(), String> {
    execute_formatted(
        connection,
        "DROP DATABASE IF EXISTS %I WITH (FORCE)",
        &[name],
    )
    .await
}

/// The drill databases of `database` on the server, with the job each says made it.
pub async fn drill_databases(
    connection: &mut PgConnection,
    database: &str,
) -> Result<Vec<(String, Option<String>)>, String> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT datname::text, shobj_description(oid, 'pg_database') FROM pg_database \
         WHERE strpos(datname, $1) > 0",
    )
    .bind(DRILL_INFIX)
    .fetch_all(&mut *connection)
    .await
    .map_err(|e| one_line(&e))?;
    Ok(rows
        .into_iter()
        .filter(|(name, _)| is_drill_of(name, database))
        .map(|(name, comment)| {
            let job = comment.and_then(|c| c.strip_prefix(DRILL_COMMENT).map(str::to_owned));
            (name, job)
        })
        .collect())
}

/// A database error on one line, without the URL (sqlx's messages do not carry it).
fn one_line(error: &dyn std::fmt::Display) -> String {
    error
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_the_client_older_than_the_server() {
        assert_eq!(major("15.18"), Some(15));
        assert_eq!(major("16beta1"), Some(16));
        assert_eq!(major("9.6.24"), Some(9));
        assert_eq!(version_problem("pg_dump", "16.1", "15.18"), None);
        assert_eq!(version_problem("pg_dump", "15.18", "15.2"), None);
        let problem = version_problem("pg_dump", "15.18", "16.2").unwrap();
        assert!(problem.contains("pg_dump 15.18 is older"), "{problem}");
        assert!(problem.contains("PostgreSQL 16.2"), "{problem}");
        assert!(problem.contains("/usr/lib/postgresql/16/bin"), "{problem}");
    }

    #[test]
    fn the_database_of_an_archive_listing() {
        let listing = ";\n; Archive created at 2025-11-20 12:00:00 UTC\n;     dbname: app\n\
                       ;     TOC Entries: 7\n;\n215; 1259 16385 TABLE public items postgres\n";
        assert_eq!(archive_database(listing), Some("app"));
        assert_eq!(archive_database("215; 1259 TABLE public dbname: x\n"), None);
    }

    #[test]
    fn drill_databases_are_named_for_their_database_and_fit_an_identifier() {
        let now = chrono::DateTime::parse_from_rfc3339("2025-11-20T12:34:56Z")
            .unwrap()
            .to_utc();
        assert_eq!(drill_database("app", now), "app_drill_20251120123456");
        assert!(is_drill_of("app_drill_20251120123456", "app"));
        assert!(!is_drill_of("app_drill_2025112012345", "app"));
        assert!(!is_drill_of("other_drill_20251120123456", "app"));
        assert!(!is_drill_of("app", "app"));
        assert!(!is_drill_of("ap_drill_20251120123456", "app"));
        assert!(!is_drill_of("app_drill_20251120123456", "ap"));
        let long = "d".repeat(70);
        let scratch = drill_database(&long, now);
        assert_eq!(scratch.len(), MAX_IDENTIFIER);
        assert!(is_drill_of(&scratch, &long));
    }
}
