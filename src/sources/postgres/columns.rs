//! Finding the result column of each row field, and reading typed values from it with errors
//! that name the query, the column and the row.

use chrono::{DateTime, Utc};

use super::mapping::parse_status;
use super::query::{Cell, QueryError, ResultSet};
use crate::config::PgQuery;
use crate::model::HostStatus;

/// Finds the result column of each row field and reads typed values from rows, with errors
/// that name the query, the column and the row.
pub(super) struct Columns<'a> {
    pub(super) query: &'a PgQuery,
    result: &'a ResultSet,
    used: Vec<bool>,
}

/// Where a row field is read from: the field's name and its column's position.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    name: &'static str,
    index: usize,
}

/// What a field needs, for decoding and for the cast an error suggests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Want {
    Text,
    Number,
    Time,
    Status,
}

impl Want {
    pub(super) fn cast(self) -> &'static str {
        match self {
            Want::Text | Want::Status => "text",
            Want::Number => "float8",
            Want::Time => "timestamptz",
        }
    }

    pub(super) fn expected(self) -> &'static str {
        match self {
            Want::Text => "a value",
            Want::Number => "a number",
            Want::Time => "a timestamp (timestamptz, or text in RFC 3339)",
            Want::Status => "a status (up, down, degraded, …) or a boolean",
        }
    }
}

impl<'a> Columns<'a> {
    pub(super) fn new(query: &'a PgQuery, result: &'a ResultSet) -> Self {
        Columns {
            query,
            result,
            used: vec![false; result.columns.len()],
        }
    }

    /// The column for `field`: an explicit mapping must exist; an implicit one may not.
    pub(super) fn find(
        &mut self,
        field: &'static str,
        want: Want,
    ) -> Result<Option<Field>, QueryError> {
        let mapped = self.query.columns.get(field);
        let column = mapped.map_or(field, String::as_str);
        let Some(index) = self.result.columns.iter().position(|c| c == column) else {
            return match mapped {
                Some(column) => Err(self.missing(field, column)),
                None => Ok(None),
            };
        };
        self.used[index] = true;
        let type_name = self.result.types.get(index).map_or("", String::as_str);
        if !type_usable(type_name, want) {
            return Err(QueryError::UnusableType {
                query: self.query.name.clone(),
                column: column.to_owned(),
                type_name: type_name.to_owned(),
                field,
                cast: want.cast(),
            });
        }
        Ok(Some(Field { name: field, index }))
    }

    pub(super) fn require(&mut self, field: &'static str, want: Want) -> Result<Field, QueryError> {
        match self.find(field, want)? {
            Some(found) => Ok(found),
            None => Err(self.missing(field, field)),
        }
    }

    fn missing(&self, field: &'static str, column: &str) -> QueryError {
        QueryError::MissingColumn {
            query: self.query.name.clone(),
            target: self.query.maps_to.name(),
            field,
            column: column.to_owned(),
            available: if self.result.columns.is_empty() {
                "no columns".to_owned()
            } else {
                self.result.columns.join(", ")
            },
        }
    }

    /// Columns no field reads, in result order.
    pub(super) fn unused(&self) -> Vec<usize> {
        (0..self.used.len()).filter(|&i| !self.used[i]).collect()
    }

    pub(super) fn name(&self, index: usize) -> &str {
        &self.result.columns[index]
    }

    pub(super) fn wrong(&self, field: Field, row: usize, cell: &Cell, want: Want) -> QueryError {
        QueryError::WrongValue {
            query: self.query.name.clone(),
            column: self.name(field.index).to_owned(),
            row,
            field: field.name,
            found: cell.describe(),
            expected: want.expected(),
        }
    }

    fn cell<'r>(&self, row: &'r [Cell], field: Field) -> &'r Cell {
        row.get(field.index).unwrap_or(&Cell::Null)
    }

    pub(super) fn text(&self, row: &[Cell], field: Option<Field>) -> Option<String> {
        field.and_then(|f| self.cell(row, f).text())
    }

    pub(super) fn required_text(
        &self,
        row: &[Cell],
        number: usize,
        field: Field,
    ) -> Result<String, QueryError> {
        let cell = self.cell(row, field);
        cell.text()
            .ok_or_else(|| self.wrong(field, number, cell, Want::Text))
    }

    pub(super) fn number(
        &self,
        row: &[Cell],
        number: usize,
        field: Option<Field>,
    ) -> Result<Option<f64>, QueryError> {
        let Some(field) = field else { return Ok(None) };
        let cell = self.cell(row, field);
        match cell {
            Cell::Null => Ok(None),
            Cell::Int(n) => Ok(Some(*n as f64)),
            Cell::Float(x) if x.is_finite() => Ok(Some(*x)),
            Cell::Text(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| self.wrong(field, number, cell, Want::Number)),
            _ => Err(self.wrong(field, number, cell, Want::Number)),
        }
    }

    pub(super) fn time(
        &self,
        row: &[Cell],
        number: usize,
        field: Option<Field>,
    ) -> Result<Option<DateTime<Utc>>, QueryError> {
        let Some(field) = field else { return Ok(None) };
        let cell = self.cell(row, field);
        match cell {
            Cell::Null => Ok(None),
            Cell::Time(t) => Ok(Some(*t)),
            Cell::Text(text) => DateTime::parse_from_rfc3339(text.trim())
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| self.wrong(field, number, cell, Want::Time)),
            _ => Err(self.wrong(field, number, cell, Want::Time)),
        }
    }

    pub(super) fn required_time(
        &self,
        row: &[Cell],
        number: usize,
        field: Field,
    ) -> Result<DateTime<Utc>, QueryError> {
        self.time(row, number, Some(field))?
            .ok_or_else(|| self.wrong(field, number, self.cell(row, field), Want::Time))
    }

    pub(super) fn status(
        &self,
        row: &[Cell],
        number: usize,
        field: Field,
    ) -> Result<Option<HostStatus>, QueryError> {
        let cell = self.cell(row, field);
        match cell {
            Cell::Null => Ok(None),
            Cell::Bool(true) => Ok(Some(HostStatus::Up)),
            Cell::Bool(false) => Ok(Some(HostStatus::Down)),
            Cell::Text(text) => Ok(Some(parse_status(text))),
            _ => Err(self.wrong(field, number, cell, Want::Status)),
        }
    }
}

/// Whether a column of PostgreSQL type `type_name` can feed a field that wants `want`. Values
/// are checked again per row (text must parse).
fn type_usable(type_name: &str, want: Want) -> bool {
    const NUMBERS: [&str; 5] = ["INT2", "INT4", "INT8", "FLOAT4", "FLOAT8"];
    const TIMES: [&str; 3] = ["TIMESTAMPTZ", "TIMESTAMP", "DATE"];
    const UNUSABLE: [&str; 4] = ["NUMERIC", "BYTEA", "INTERVAL", "MONEY"];
    let text_like = !NUMBERS.contains(&type_name)
        && !TIMES.contains(&type_name)
        && !matches!(type_name, "BOOL" | "JSON" | "JSONB" | "UUID")
        && !UNUSABLE.contains(&type_name)
        && !type_name.ends_with("[]");
    match want {
        Want::Text => !UNUSABLE.contains(&type_name) && !type_name.ends_with("[]"),
        Want::Number => NUMBERS.contains(&type_name) || text_like,
        Want::Time => TIMES.contains(&type_name) || text_like,
        Want::Status => type_name == "BOOL" || text_like,
    }
}
