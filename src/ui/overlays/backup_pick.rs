//! A restore dialog's backups: newest first, each with its size, age and whether it checks out,
//! the picked one marked; or that they are being read, or why they cannot be.

use bytesize::ByteSize;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Text};
use ratatui::widgets::{Paragraph, Wrap};

use crate::columns::format::age;
use crate::config::theme::Role;
use crate::state::{BackupEntry, BackupList, BackupPick};
use crate::ui::{Ui, text};

/// Backups in sight at once; the list scrolls with the pick.
const SHOWN: usize = 5;
const LABEL: &str = "Backups";

/// The list laid out for a dialog of a given width.
pub(super) struct Picker {
    header: Paragraph<'static>,
    header_rows: u16,
    body: Paragraph<'static>,
    body_rows: u16,
    label_column: u16,
}

impl Picker {
    /// `width` is the dialog's inside; the header's text starts at `label_column`.
    pub(super) fn new(ui: &Ui, pick: &BackupPick, width: u16, label_column: u16) -> Picker {
        let theme = ui.theme;
        let dir = pick.dir.display();
        let (header, body): (String, Text<'static>) = match &pick.list {
            BackupList::Reading => (
                format!("in {dir}"),
                Text::styled("reading backups…", theme.style(Role::Dim)),
            ),
            BackupList::Unreadable(error) => (
                format!("in {dir}"),
                Text::styled(
                    format!("✗ cannot be read: {error}"),
                    theme.style(Role::Error),
                ),
            ),
            BackupList::Listed { entries, .. } if entries.is_empty() => (
                format!("in {dir}"),
                Text::styled("none: nothing to restore", theme.style(Role::Error)),
            ),
            BackupList::Listed { entries, selected } => (
                format!("{} in {dir}, newest first; ↑↓ picks", entries.len()),
                entry_lines(ui, entries, *selected, width),
            ),
        };
        let header = Paragraph::new(text::shown(header).into_owned())
            .style(theme.style(Role::Dim))
            .wrap(Wrap { trim: false });
        let body = Paragraph::new(body).wrap(Wrap { trim: false });
        let rows = |p: &Paragraph, width: u16| u16::try_from(p.line_count(width)).unwrap_or(1);
        Picker {
            header_rows: rows(&header, width.saturating_sub(label_column).max(1)),
            body_rows: rows(&body, width.max(1)),
            header,
            body,
            label_column,
        }
    }

    pub(super) fn rows(&self) -> u16 {
        self.header_rows.saturating_add(self.body_rows)
    }

    pub(super) fn draw(self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let [header_area, body_area] = Layout::vertical([
            Constraint::Length(self.header_rows),
            Constraint::Length(self.body_rows),
        ])
        .areas(area);
        let [label_area, header_area] =
            Layout::horizontal([Constraint::Length(self.label_column), Constraint::Fill(1)])
                .areas(header_area);
        frame.render_widget(
            Paragraph::new(LABEL).style(ui.theme.style(Role::Header)),
            label_area,
        );
        frame.render_widget(self.header, header_area);
        frame.render_widget(self.body, body_area);
    }
}

/// One line a backup, in columns, the window of [`SHOWN`] that holds the pick.
fn entry_lines(
    ui: &Ui,
    entries: &[BackupEntry],
    selected: Option<usize>,
    width: u16,
) -> Text<'static> {
    let theme = ui.theme;
    let first = selected.map_or(0, |s| (s + 1).saturating_sub(SHOWN));
    let window = entries.iter().enumerate().skip(first).take(SHOWN);
    let shown = |entry: &BackupEntry| text::shown(entry.file.as_str()).into_owned();
    let file_width = window
        .clone()
        .map(|(_, entry)| shown(entry).chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = window
        .map(|(index, entry)| {
            let picked = Some(index) == selected;
            let size = entry
                .size
                .map(|size| ByteSize(size).display().iec().to_string())
                .unwrap_or_default();
            let taken = entry
                .taken
                .map(|taken| format!("{} ago", age(ui.state.now, taken)))
                .unwrap_or_default();
            let state = match &entry.problem {
                None => "size ok".to_owned(),
                Some(problem) => format!("✗ {problem}"),
            };
            let line = format!(
                "{} {:file_width$}  {size:>9}  {taken:>7}  {state}",
                if picked { "▶" } else { " " },
                shown(entry),
            );
            let role = match (picked, &entry.problem) {
                (true, _) => Role::Selected,
                (false, None) => Role::Dialog,
                (false, Some(_)) => Role::Error,
            };
            Line::styled(text::fit(line, width).into_owned(), theme.style(role))
        })
        .collect();
    Text::from(lines)
}
