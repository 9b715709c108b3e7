//! `Enter`: every field of the selected row, including kind-specific `fields`.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use serde::Serialize;
use serde_json::Value;

use super::{popup, scrolled};
use crate::columns::format;
use crate::config::theme::{Role, Theme};
use crate::state::{AppState, Pane};
use crate::ui::{Ui, layout, text};

/// Where the popup goes in the body of the screen.
pub(super) fn area(body: Rect) -> Rect {
    layout::popup(body, 70, 80, 50, 10)
}

pub(super) fn draw(frame: &mut Frame, body: Rect, ui: &Ui, scroll: u16) {
    let state = ui.state;
    let inner = popup(
        frame,
        area(body),
        ui,
        &format!("{} — detail", state.focus.title()),
    );
    if inner.is_empty() {
        return;
    }
    scrolled(frame, inner, ui.theme, lines(state, ui.theme), scroll);
}

/// The popup's text: when the row was read, then every field.
pub(super) fn lines(state: &AppState, theme: &Theme) -> Vec<Line<'static>> {
    let pane = state.focus;
    match state
        .view(pane)
        .selected_row()
        .and_then(|row| fields(state, pane, row))
    {
        Some((fields, observed_at, stale)) => {
            let mut lines = vec![Line::from(Span::styled(
                format!(
                    "data read {} ago{}",
                    format::age(state.now, observed_at),
                    if stale { " — STALE" } else { "" }
                ),
                theme.style(if stale { Role::StatusStale } else { Role::Dim }),
            ))];
            // Field names are a source's too (the keys of an OpenBao or query row's fields).
            let fields: Vec<(String, String)> = fields
                .into_iter()
                .map(|(key, value)| {
                    (
                        text::shown(key).into_owned(),
                        text::shown(value).into_owned(),
                    )
                })
                .collect();
            let key_width = fields
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            let key_style = theme.style(Role::Header);
            lines.extend(fields.into_iter().map(|(key, value)| {
                Line::from(vec![
                    Span::styled(format!("{key:<key_width$}  "), key_style),
                    Span::raw(value),
                ])
            }));
            lines
        }
        None => vec![Line::from(Span::styled(
            "No row selected.",
            theme.style(Role::Dim),
        ))],
    }
}

/// (name, value) pairs, when the row was read, and whether that is stale.
type RowDetail = (Vec<(String, String)>, DateTime<Utc>, bool);

/// The row's fields as (name, value) pairs, when it was read, and whether that is stale.
///
/// The row's serde form is the JSON schema of `ondeck snapshot --json`, so the detail view
/// shows exactly the fields the schema documents, including ones added later, without a
/// hand-kept list per pane.
fn fields(state: &AppState, pane: Pane, row: usize) -> Option<RowDetail> {
    let d = &state.data;
    let (value, source, observed_at) = match pane {
        Pane::Hosts => d
            .hosts
            .get(row)
            .map(|r| (json(r), &r.source, r.observed_at))?,
        Pane::Sessions => d
            .sessions
            .get(row)
            .map(|r| (json(r), &r.source, r.observed_at))?,
        Pane::Jobs => d
            .jobs
            .get(row)
            .map(|r| (json(r), &r.source, r.observed_at))?,
        Pane::Alerts => d
            .alerts
            .get(row)
            .map(|r| (json(r), &r.source, r.observed_at))?,
        Pane::Audit => d.audit.get(row).map(|r| (json(r), &r.source, r.time))?,
    };
    let stale = pane != Pane::Audit && state.is_stale(source, observed_at);
    let mut fields = Vec::new();
    // What a rollback of this environment would do, where the rollback action will take it.
    if pane == Pane::Hosts
        && let Some((from, to)) = d
            .hosts
            .get(row)
            .and_then(crate::model::HostRow::rollback_target)
    {
        fields.push(("rollback".to_owned(), format!("{from} → {to}")));
    }
    flatten("", &value, &mut fields);
    Some((fields, observed_at, stale))
}

fn json(row: &impl Serialize) -> Value {
    serde_json::to_value(row).unwrap_or(Value::Null)
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, value, out);
            }
        }
        Value::Null => out.push((prefix.to_owned(), "-".to_owned())),
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        Value::Number(number) => {
            let text = number
                .as_f64()
                .and_then(|n| format::with_unit(prefix, n))
                .unwrap_or_else(|| number.to_string());
            out.push((prefix.to_owned(), text));
        }
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_shown_in_their_units() {
        let value = serde_json::json!({"disk_pct": 48.0, "fields": {"free_bytes": 76_973_936_640_u64, "t": 3}, "uptime_s": 273_600});
        let mut out = Vec::new();
        flatten("", &value, &mut out);
        let shown: Vec<&str> = out.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(shown, ["48%", "71.7 GiB", "3", "3days 4h"]);
    }

    #[test]
    fn nested_fields_are_flattened_with_dotted_names() {
        let value = serde_json::json!({"name": "bao-1", "fields": {"sealed": true, "t": 3}, "version": null});
        let mut out = Vec::new();
        flatten("", &value, &mut out);
        assert_eq!(
            out,
            vec![
                ("fields.sealed".to_owned(), "true".to_owned()),
                ("fields.t".to_owned(), "3".to_owned()),
                ("name".to_owned(), "bao-1".to_owned()),
                ("version".to_owned(), "-".to_owned()),
            ]
        );
    }
}
