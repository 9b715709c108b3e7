//! The unseal dialog: the node, its seal status as last read (live while the dialog is open),
//! the masked field for the next key share, and what became of the last one.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::popup_closed_by;
use crate::actions::unseal::seal_summary;
use crate::config::keymap::KeyContext;
use crate::config::mask_url;
use crate::config::theme::Role;
use crate::msg::Command;
use crate::state::UnsealDialog;
use crate::ui::{Ui, text};

const WIDEST: u16 = 84;
const LABEL: usize = 11;

pub(super) fn draw(frame: &mut Frame, body: Rect, ui: &Ui, dialog: &UnsealDialog) {
    let theme = ui.theme;
    let node = dialog.node();
    let url = dialog.work().map(|w| mask_url(&w.url)).unwrap_or_default();
    let seal = match &dialog.status {
        None => "reading the seal status…".to_owned(),
        Some(Ok(status)) => seal_summary(status),
        Some(Err(why)) => format!("unknown: {why}"),
    };
    let label = |name: &str| Span::styled(format!("{name:<LABEL$}"), theme.style(Role::Header));
    let mut lines = vec![
        Line::from(vec![
            label("Node"),
            Span::styled(
                text::shown(format!("{node}  {url}").as_str()).into_owned(),
                theme.style(Role::TitleFocused),
            ),
        ]),
        Line::from(vec![
            label("Seal"),
            Span::raw(text::shown(seal.as_str()).into_owned()),
        ]),
        Line::default(),
        Line::from(vec![
            label("Key share"),
            Span::styled(
                format!("{:<24}", "•".repeat(dialog.share.chars())),
                theme.style(Role::Input),
            ),
        ]),
        Line::default(),
    ];
    if dialog.confirming_reset {
        lines.push(Line::styled(
            format!(
                "Reset the attempt of {node}? Every share given so far, by anyone, is \
                 discarded. Enter resets, Esc keeps them."
            ),
            theme.style(Role::Error),
        ));
    } else if let Some(message) = &dialog.message {
        lines.push(Line::styled(
            text::shown(message.as_str()).into_owned(),
            theme.style(Role::DialogDanger),
        ));
    }
    lines.push(Line::styled(
        "Enter sends · ctrl-r resets the attempt · closing keeps the shares given",
        theme.style(Role::Dim),
    ));

    let width = body.width.saturating_sub(4).min(WIDEST);
    let paragraph = Paragraph::new(lines)
        .style(theme.style(Role::Dialog))
        .wrap(Wrap { trim: false });
    let rows =
        u16::try_from(paragraph.line_count(width.saturating_sub(4).max(1))).unwrap_or(u16::MAX);
    let height = rows.saturating_add(2).min(body.height);
    let area = Rect {
        x: body.x + (body.width - width) / 2,
        y: body.y + (body.height - height) / 2,
        width,
        height,
    };
    let close = text::keys(ui.keymap, &[KeyContext::Input], Command::Cancel);
    let inner = popup_closed_by(frame, area, ui, &format!("Unseal {node}"), close);
    let inner = Rect {
        x: inner.x.saturating_add(1),
        width: inner.width.saturating_sub(2),
        ..inner
    };
    if !inner.is_empty() {
        frame.render_widget(paragraph, inner);
    }
}
