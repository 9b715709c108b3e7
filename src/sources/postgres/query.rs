//! Named queries (`[[source.query]]`): run in what is left of the poll's time, in a read-only
//! transaction, their values decoded by PostgreSQL type.

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use futures_util::StreamExt;
use serde_json::json;
use sqlx::postgres::{PgPool, PgRow, PgTypeInfo, PgTypeKind};
use sqlx::{Column, Executor, Row, Statement, TypeInfo, ValueRef};

use super::connection::{one_line, read_only};
use crate::config::PgQuery;
use crate::model::{AlertRow, Severity};

pub const QUERY_FAILED: &str = "PostgresQueryFailed";

/// Less time than this left in a poll is not worth starting a named query with.
const MIN_QUERY_TIME: Duration = Duration::from_millis(50);

pub(super) fn query_failed_alert(
    source: &str,
    query: &str,
    error: &QueryError,
    now: DateTime<Utc>,
) -> AlertRow {
    AlertRow::raised(
        source,
        QUERY_FAILED,
        Severity::Warning,
        format!("{source}:{query}"),
        error.to_string(),
        now,
    )
}

/// One value of a named query's result, decoded by its PostgreSQL type.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `timestamptz`; a `timestamp` or `date` without zone is read as UTC.
    Time(DateTime<Utc>),
    Json(serde_json::Value),
    /// A type ondeck cannot show (numeric, arrays, …); only an error if a row field needs it.
    Unsupported(String),
}

impl Cell {
    /// The value as text, for the string fields of a row; `None` for NULL or unsupported.
    pub(super) fn text(&self) -> Option<String> {
        Some(match self {
            Cell::Null | Cell::Unsupported(_) => return None,
            Cell::Text(text) => text.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Float(x) => x.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Time(t) => t.to_rfc3339(),
            Cell::Json(value) => value.to_string(),
        })
    }

    /// The value for a row's extra fields; unsupported types are left out.
    pub(super) fn to_json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Cell::Unsupported(_) => return None,
            Cell::Null => serde_json::Value::Null,
            Cell::Text(text) => json!(text),
            Cell::Int(n) => json!(n),
            Cell::Float(x) => json!(x),
            Cell::Bool(b) => json!(b),
            Cell::Time(t) => json!(t.to_rfc3339()),
            Cell::Json(value) => value.clone(),
        })
    }

    /// How the value is described in an error.
    pub(super) fn describe(&self) -> String {
        match self {
            Cell::Null => "NULL".to_owned(),
            Cell::Text(text) => format!("the text {text:?}"),
            Cell::Int(n) => format!("the integer {n}"),
            Cell::Float(x) => format!("the number {x}"),
            Cell::Bool(b) => format!("the boolean {b}"),
            Cell::Time(t) => format!("the time {}", t.to_rfc3339()),
            Cell::Json(_) => "a JSON value".to_owned(),
            Cell::Unsupported(type_name) => format!("a value of type {type_name}"),
        }
    }
}

/// A named query's answer: column names and decoded rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<String>,
    /// PostgreSQL type of each column, for error messages.
    pub types: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// More rows than the query's `max_rows` were returned; the rest were not read.
    pub truncated: bool,
}

/// Why a named query gave no rows. Each message names the query, and the column where one is
/// at fault, and says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("query `{query}` failed: {reason}")]
    Failed { query: String, reason: String },
    #[error(
        "query `{query}`: its result has no column `{column}` for the {target} field `{field}` (it has: {available}); fix the SQL or `columns.{field}`"
    )]
    MissingColumn {
        query: String,
        target: &'static str,
        field: &'static str,
        column: String,
        available: String,
    },
    #[error(
        "query `{query}`: column `{column}` has type {type_name}, which cannot be used as `{field}`; cast it in the SQL (e.g. `{column}::{cast}`)"
    )]
    UnusableType {
        query: String,
        column: String,
        type_name: String,
        field: &'static str,
        cast: &'static str,
    },
    #[error(
        "query `{query}`: column `{column}` holds {found} in row {row}, but `{field}` needs {expected}"
    )]
    WrongValue {
        query: String,
        column: String,
        row: usize,
        field: &'static str,
        found: String,
        expected: &'static str,
    },
}

/// Runs one named query in its own read-only transaction and decodes its rows.
/// [`run_query`] in what is left of the poll's budget; a query left less than
/// [`MIN_QUERY_TIME`] is not started.
pub(super) async fn run_query_by(
    pool: &PgPool,
    query: &PgQuery,
    deadline: Instant,
    request_id: &str,
) -> Result<ResultSet, QueryError> {
    let out_of_time = |reason: String| QueryError::Failed {
        query: query.name.clone(),
        reason,
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining < MIN_QUERY_TIME {
        return Err(out_of_time(
            "not run: the poll's time was used up by the statements before it".to_owned(),
        ));
    }
    // The server cancels a slow statement at `remaining`; this also bounds waiting for a pooled
    // connection and the round trips around the statement.
    tokio::time::timeout(remaining, run_query(pool, query, remaining, request_id))
        .await
        .unwrap_or_else(|_elapsed| {
            Err(out_of_time(format!(
                "cancelled after {} ms, the rest of the poll's time",
                remaining.as_millis()
            )))
        })
}

async fn run_query(
    pool: &PgPool,
    query: &PgQuery,
    budget: Duration,
    request_id: &str,
) -> Result<ResultSet, QueryError> {
    let failed = |error: sqlx::Error| QueryError::Failed {
        query: query.name.clone(),
        reason: one_line(&match &error {
            sqlx::Error::Database(db) => db.message().to_owned(),
            other => other.to_string(),
        }),
    };
    let mut tx = read_only(pool, budget, request_id).await.map_err(failed)?;
    // Preparing first gives the columns even when no row comes back, so a wrong mapping is
    // reported on an empty table too.
    let statement = (&mut *tx)
        .prepare(query.sql.as_str())
        .await
        .map_err(failed)?;
    let mut result = ResultSet {
        columns: statement
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect(),
        types: statement
            .columns()
            .iter()
            .map(|c| c.type_info().name().to_owned())
            .collect(),
        ..ResultSet::default()
    };
    {
        let mut rows = statement.query().fetch(&mut *tx);
        while let Some(row) = rows.next().await {
            let row = row.map_err(failed)?;
            if result.rows.len() == query.max_rows {
                result.truncated = true;
                break;
            }
            result.rows.push(decode_row(&row).map_err(failed)?);
        }
    }
    tx.rollback().await.map_err(failed)?;
    Ok(result)
}

fn decode_row(row: &PgRow) -> Result<Vec<Cell>, sqlx::Error> {
    (0..row.columns().len())
        .map(|index| decode_cell(row, index))
        .collect()
}

/// Decodes one value by its column's type. Types without a sensible display become
/// [`Cell::Unsupported`], which only matters if a row field is mapped to them.
fn decode_cell(row: &PgRow, index: usize) -> Result<Cell, sqlx::Error> {
    if row.try_get_raw(index)?.is_null() {
        return Ok(Cell::Null);
    }
    let type_info: &PgTypeInfo = row.columns()[index].type_info();
    Ok(match type_info.name() {
        "BOOL" => Cell::Bool(row.try_get(index)?),
        "INT2" => Cell::Int(row.try_get::<i16, _>(index)?.into()),
        "INT4" => Cell::Int(row.try_get::<i32, _>(index)?.into()),
        "INT8" => Cell::Int(row.try_get(index)?),
        "FLOAT4" => Cell::Float(row.try_get::<f32, _>(index)?.into()),
        "FLOAT8" => Cell::Float(row.try_get(index)?),
        "TIMESTAMPTZ" => Cell::Time(row.try_get(index)?),
        "TIMESTAMP" => Cell::Time(row.try_get::<NaiveDateTime, _>(index)?.and_utc()),
        "DATE" => Cell::Time(
            row.try_get::<NaiveDate, _>(index)?
                .and_time(chrono::NaiveTime::MIN)
                .and_utc(),
        ),
        "JSON" | "JSONB" => Cell::Json(row.try_get(index)?),
        "UUID" => Cell::Text(row.try_get::<uuid::Uuid, _>(index)?.to_string()),
        // An enum (how ORMs often store a status) and a domain over text travel as their
        // text, which sqlx's type check does not know; everything else must be text to sqlx.
        other => match type_info.kind() {
            PgTypeKind::Enum(_) => Cell::Text(row.try_get_unchecked(index)?),
            PgTypeKind::Domain(base)
                if matches!(base.name(), "TEXT" | "VARCHAR" | "BPCHAR" | "NAME") =>
            {
                Cell::Text(row.try_get_unchecked(index)?)
            }
            _ => match row.try_get::<String, _>(index) {
                Ok(text) => Cell::Text(text),
                Err(_) => Cell::Unsupported(other.to_owned()),
            },
        },
    })
}
