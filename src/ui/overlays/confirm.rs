//! The confirmation dialog: exactly what will happen to which target, what it changes and
//! what cannot be undone, then Cancel / Run — or, for a `type-target` action, a field for the
//! target's name.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui_textarea::TextArea;

use super::backup_pick::Picker;
use super::popup_closed_by;
use crate::actions::Decision;
use crate::config::keymap::KeyContext;
use crate::config::theme::Role;
use crate::msg::Command;
use crate::state::{Button, Confirm, Confirming};
use crate::ui::{Ui, text};

const LABEL_COLUMN: u16 = 13;
const WIDEST: u16 = 84;
const BUTTON_GAP: u16 = 4;

/// One labelled part of the dialog.
struct Field {
    label: &'static str,
    lines: Vec<String>,
    role: Role,
}

pub(super) fn draw(frame: &mut Frame, body: Rect, ui: &Ui, confirm: &Confirm) {
    let theme = ui.theme;
    let (title, description, fields) = content(&confirm.confirming);
    let warning = warning(ui, &confirm.confirming);

    let width = body.width.saturating_sub(4).min(WIDEST);
    // Inside the border, a column of space on each side.
    let content_width = width.saturating_sub(4);
    let value_width = content_width.saturating_sub(LABEL_COLUMN).max(1);
    let description = description.map(|d| {
        Paragraph::new(text::shown(d).into_owned())
            .style(theme.style(Role::Dim))
            .wrap(Wrap { trim: false })
    });
    let values: Vec<(Field, Paragraph)> = fields
        .into_iter()
        .map(|field| {
            let lines: Vec<Line> = field
                .lines
                .iter()
                .map(|line| Line::from(text::shown(line.as_str()).into_owned()))
                .collect();
            let paragraph = Paragraph::new(Text::from(lines))
                .style(theme.style(field.role))
                .wrap(Wrap { trim: false });
            (field, paragraph)
        })
        .collect();
    let rows = |p: &Paragraph, width: u16| u16::try_from(p.line_count(width)).unwrap_or(u16::MAX);
    let description_rows = description
        .as_ref()
        .map_or(0, |d| rows(d, content_width).saturating_add(1));
    let field_rows: Vec<u16> = values.iter().map(|(_, p)| rows(p, value_width)).collect();
    let warning_rows = u16::from(warning.is_some());
    // The target's name or the TOTP code, on the same row.
    let typed_rows = u16::from(confirm.has_confirming_field());
    let comment_rows = u16::from(confirm.comment.is_some());
    let picker = confirm
        .pick
        .as_ref()
        .map(|pick| Picker::new(ui, pick, content_width, LABEL_COLUMN));
    let pick_rows = picker.as_ref().map_or(0, Picker::rows);
    // The backups to pick from, a blank line under the plan, the warning, the comment, the
    // field with a blank line under it, the buttons.
    let fixed_rows =
        pick_rows + 1 + warning_rows + comment_rows + typed_rows + typed_rows.max(comment_rows) + 1;
    let wanted = description_rows
        .saturating_add(field_rows.iter().sum())
        .saturating_add(fixed_rows)
        .saturating_add(2);
    let height = wanted.min(body.height);
    let area = Rect {
        x: body.x + (body.width - width) / 2,
        y: body.y + (body.height - height) / 2,
        width,
        height,
    };

    let close_context = if confirm.takes_text() {
        KeyContext::Input
    } else {
        KeyContext::Dialog
    };
    let close = text::keys(ui.keymap, &[close_context], Command::Cancel);
    let inner = popup_closed_by(frame, area, ui, &title, close);
    let inner = Rect {
        x: inner.x.saturating_add(1),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    if inner.is_empty() {
        return;
    }
    // The backups, the buttons and the fields stay in sight on a short screen; a long plan is
    // cut instead.
    let [
        plan_area,
        pick_area,
        _,
        warning_area,
        comment_area,
        typed_area,
        _,
        buttons_area,
    ] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(pick_rows),
        Constraint::Length(1),
        Constraint::Length(warning_rows),
        Constraint::Length(comment_rows),
        Constraint::Length(typed_rows),
        Constraint::Length(typed_rows.max(comment_rows)),
        Constraint::Length(1),
    ])
    .areas(inner);

    let mut constraints = Vec::new();
    if description.is_some() {
        constraints.push(Constraint::Length(description_rows));
    }
    constraints.extend(field_rows.iter().map(|&r| Constraint::Length(r)));
    let areas = Layout::vertical(constraints).split(plan_area);
    let mut areas = areas.iter();
    if let Some(description) = description
        && let Some(&area) = areas.next()
    {
        frame.render_widget(description, area);
    }
    for ((field, paragraph), &area) in values.into_iter().zip(areas) {
        let [label_area, value_area] =
            Layout::horizontal([Constraint::Length(LABEL_COLUMN), Constraint::Fill(1)]).areas(area);
        frame.render_widget(
            Paragraph::new(field.label).style(theme.style(Role::Header)),
            label_area,
        );
        frame.render_widget(paragraph, value_area);
    }

    if let Some(picker) = picker {
        picker.draw(frame, pick_area, ui);
    }
    if let Some(warning) = warning {
        frame.render_widget(
            Paragraph::new(text::fit(warning, warning_area.width).into_owned())
                .style(theme.style(Role::Error)),
            warning_area,
        );
    }
    if let Some(input) = &confirm.comment {
        let focused = confirm.comment_focused;
        draw_field(frame, comment_area, ui, "Comment: ", input, focused);
    }
    if let (Some(input), Confirming::Action(plan)) = (&confirm.typed, &confirm.confirming) {
        let prompt = format!("Type {} to run: ", text::shown(plan.target.name.as_str()));
        let focused = !confirm.comment_focused;
        draw_field(frame, typed_area, ui, &prompt, input, focused);
    }
    if let Some(code) = &confirm.code {
        let prompt = "Your TOTP code: ";
        let [prompt_area, field_area] =
            Layout::horizontal([Constraint::Length(16), Constraint::Fill(1)]).areas(typed_area);
        frame.render_widget(
            Paragraph::new(prompt).style(theme.style(Role::Header)),
            prompt_area,
        );
        frame.render_widget(
            Paragraph::new("•".repeat(code.chars())).style(theme.style(Role::Input)),
            field_area,
        );
    }
    draw_buttons(frame, buttons_area, ui, confirm);
}

/// A prompt and its text field on one line; only the focused field shows its cursor.
fn draw_field(
    frame: &mut Frame,
    area: Rect,
    ui: &Ui,
    prompt: &str,
    input: &TextArea<'static>,
    focused: bool,
) {
    let theme = ui.theme;
    let prompt_width = u16::try_from(prompt.chars().count()).unwrap_or(u16::MAX);
    let [prompt_area, field_area] =
        Layout::horizontal([Constraint::Length(prompt_width), Constraint::Fill(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(prompt.to_owned()).style(theme.style(Role::Header)),
        prompt_area,
    );
    frame.render_widget(
        Paragraph::new("").style(theme.style(Role::Input)),
        field_area,
    );
    if focused {
        frame.render_widget(input, field_area);
    } else {
        let shown = text::shown(input.lines().join(" ").as_str()).into_owned();
        frame.render_widget(
            Paragraph::new(shown).style(theme.style(Role::Input)),
            field_area,
        );
    }
}

/// `[ Cancel ]  [ Run ]`, the focused one highlighted; with a typed field neither has the
/// focus, and each says its key.
fn draw_buttons(frame: &mut Frame, area: Rect, ui: &Ui, confirm: &Confirm) {
    let theme = ui.theme;
    let run = match &confirm.confirming {
        Confirming::Decide {
            decision: Decision::Approve,
            ..
        } => "Approve",
        Confirming::Decide {
            decision: Decision::Deny,
            ..
        } => "Deny",
        Confirming::Action(_) | Confirming::CancelJob(_) => "Run",
    };
    let labels: [(Button, String); 2] = if confirm.takes_text() {
        let key = |command| text::keys(ui.keymap, &[KeyContext::Input], command);
        [
            (
                Button::Cancel,
                format!("Cancel: {}", key(Command::Cancel).unwrap_or_default()),
            ),
            (
                Button::Run,
                format!("{run}: {}", key(Command::Submit).unwrap_or_default()),
            ),
        ]
    } else {
        [
            (Button::Cancel, "Cancel".to_owned()),
            (Button::Run, run.to_owned()),
        ]
    };
    let spans: Vec<(Span, u16)> = labels
        .into_iter()
        .map(|(button, label)| {
            let focused = !confirm.takes_text() && confirm.focus == button;
            let (text, style): (String, Style) = if focused {
                (format!("▶ {label} ◀"), theme.style(Role::Selected))
            } else {
                (format!("[ {label} ]"), theme.style(Role::Dialog))
            };
            let width = u16::try_from(text.chars().count()).unwrap_or(u16::MAX);
            (Span::styled(text, style), width)
        })
        .collect();
    let areas = Layout::horizontal(spans.iter().map(|(_, w)| Constraint::Length(*w)))
        .flex(Flex::Center)
        .spacing(BUTTON_GAP)
        .split(area);
    for ((span, _), &area) in spans.into_iter().zip(areas.iter()) {
        frame.render_widget(Paragraph::new(Line::from(span)), area);
    }
}

/// The title, the description, and the labelled parts of what is confirmed.
fn content(confirming: &Confirming) -> (String, Option<String>, Vec<Field>) {
    match confirming {
        Confirming::Action(plan) => {
            let steps = plan
                .steps
                .iter()
                .enumerate()
                .map(|(i, step)| format!("{}. {step}", i + 1))
                .collect();
            let mut fields = vec![
                Field {
                    label: "Target",
                    lines: vec![plan.target.ledger_name()],
                    role: Role::TitleFocused,
                },
                Field {
                    label: "Steps",
                    lines: steps,
                    role: Role::Dialog,
                },
                Field {
                    label: "Changes",
                    lines: vec![plan.changes.clone()],
                    role: Role::DialogDanger,
                },
            ];
            fields.extend(plan.cannot_undo.as_ref().map(|cannot_undo| Field {
                label: "Cannot undo",
                lines: vec![cannot_undo.clone()],
                role: Role::DialogDanger,
            }));
            (
                format!("Run {}?", plan.action),
                plan.description.clone(),
                fields,
            )
        }
        Confirming::Decide { request, decision } => {
            let (title, changes) = match decision {
                Decision::Approve => (
                    "Approve the request?",
                    format!(
                        "{} runs on {} in its requester's console, as its plan says",
                        request.action, request.target
                    ),
                ),
                Decision::Deny => (
                    "Deny the request?",
                    format!(
                        "{} on {} ends DENIED and is not run",
                        request.action, request.target
                    ),
                ),
            };
            (
                title.to_owned(),
                None,
                vec![
                    Field {
                        label: "Action",
                        lines: vec![format!("{} on {}", request.action, request.target)],
                        role: Role::TitleFocused,
                    },
                    Field {
                        label: "Requester",
                        lines: vec![format!("{} ({})", request.requested_by, request.operator)],
                        role: Role::Dialog,
                    },
                    Field {
                        label: "Expires",
                        lines: vec![request.expires_at.format("%H:%M:%S UTC").to_string()],
                        role: Role::Dialog,
                    },
                    Field {
                        label: "Changes",
                        lines: vec![changes],
                        role: Role::DialogDanger,
                    },
                ],
            )
        }
        Confirming::CancelJob(job) => (
            "Cancel the job?".to_owned(),
            None,
            vec![
                Field {
                    label: "Job",
                    lines: vec![format!("{} on {}", job.action, job.target)],
                    role: Role::TitleFocused,
                },
                Field {
                    label: "Id",
                    lines: vec![job.id.clone()],
                    role: Role::Dialog,
                },
                Field {
                    label: "State",
                    lines: vec![job.state.clone()],
                    role: Role::Dialog,
                },
                Field {
                    label: "Changes",
                    lines: vec![
                        "the job stops at its next safe point: its program and every process \
                         it started are stopped, and it ends CANCELLED"
                            .to_owned(),
                    ],
                    role: Role::DialogDanger,
                },
            ],
        ),
    }
}

/// What will stop Run before it starts, said before the operator presses it.
fn warning(ui: &Ui, confirming: &Confirming) -> Option<String> {
    match confirming {
        Confirming::Action(_) => ui
            .state
            .read_only_refusal()
            .or_else(|| ui.state.store_refusal())
            .map(|why| format!("⚠ {why}")),
        Confirming::CancelJob(_) => None,
        Confirming::Decide { .. } => ui
            .state
            .read_only_refusal()
            .or_else(|| ui.state.store_refusal())
            .map(|why| format!("⚠ {why}")),
    }
}
