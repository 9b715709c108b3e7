//! The terminal the console owns: taking it over, and a backend that writes nothing for a frame
//! in which no cell changed, in no more colours than the terminal shows.
//!
//! ratatui's diff already sends only changed cells, but every frame still ends with colour and
//! attribute resets and a hide-cursor sequence, and ondeck wraps each frame in a synchronized
//! update. A poll that brings the same numbers back would cost those bytes every few seconds
//! over SSH for nothing. [`QuietBackend`] holds them back unless a cell really changed, so an
//! unchanged screen costs zero bytes. No crate offers this, hence the small wrapper.
//!
//! It also writes the cells itself rather than through crossterm, which sends even the 16 basic
//! colours as 256-colour sequences (`38;5;1`, not `31`) and every theme colour as it is: a
//! 16-colour terminal (`TERM=screen`, the Linux console) would be sent sequences it does not
//! know, and `NO_COLOR` would rely on every theme being colourless.

use std::io::{self, Stdout, Write};

use anstyle_lossy::palette::VGA;
use crossterm::cursor::MoveTo;
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

pub type ConsoleTerminal = Terminal<QuietBackend<Stdout>>;

/// Raw mode, the alternate screen and a panic hook, on the quiet backend.
///
/// A panic of the calling thread, the one that draws, gives the terminal back before the
/// report (color-eyre's, if installed) is printed. A panic anywhere else happens in a poller or
/// store task, where it is caught and shown as that source's error ("poller crashed: …") while
/// the console keeps running; restoring the terminal and printing a report over the screen for
/// it would leave the operator a garbled, dead UI, so those go to the log file instead.
pub fn take_over() -> io::Result<ConsoleTerminal> {
    let drawing_thread = std::thread::current().id();
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == drawing_thread {
            restore();
            report(info);
        } else {
            tracing::error!("panic in a background task: {info}");
        }
    }));
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(io::stdout(), crossterm::terminal::EnterAlternateScreen)?;
    Terminal::new(QuietBackend::new(io::stdout(), Colours::of_stdout()))
}

/// How many colours the terminal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colours {
    /// `NO_COLOR` is set, or the terminal shows none (`TERM=dumb`, no `TERM`): attributes only.
    None,
    /// The 8 colours and their bright forms (`TERM=screen`, `xterm`, `linux`).
    Ansi16,
    /// `TERM=*-256color`.
    Ansi256,
    /// 24-bit colour (`COLORTERM=truecolor`).
    TrueColour,
}

impl Colours {
    /// What standard output's terminal shows, from `NO_COLOR`, `FORCE_COLOR`, `TERM` and
    /// `COLORTERM`, as supports-color reads them.
    pub fn of_stdout() -> Colours {
        match supports_color::on_cached(supports_color::Stream::Stdout) {
            None => Colours::None,
            Some(level) if level.has_16m => Colours::TrueColour,
            Some(level) if level.has_256 => Colours::Ansi256,
            Some(_) => Colours::Ansi16,
        }
    }

    /// The nearest colour this terminal shows; `None` is the terminal's default colour.
    fn show(self, colour: Color) -> Option<anstyle::Color> {
        use anstyle::{AnsiColor, Color as Sgr};
        let exact = match colour {
            Color::Reset => return None,
            Color::Black => Sgr::Ansi(AnsiColor::Black),
            Color::Red => Sgr::Ansi(AnsiColor::Red),
            Color::Green => Sgr::Ansi(AnsiColor::Green),
            Color::Yellow => Sgr::Ansi(AnsiColor::Yellow),
            Color::Blue => Sgr::Ansi(AnsiColor::Blue),
            Color::Magenta => Sgr::Ansi(AnsiColor::Magenta),
            Color::Cyan => Sgr::Ansi(AnsiColor::Cyan),
            // ratatui's "gray" is ANSI white (7), its "white" bright white (15).
            Color::Gray => Sgr::Ansi(AnsiColor::White),
            Color::DarkGray => Sgr::Ansi(AnsiColor::BrightBlack),
            Color::LightRed => Sgr::Ansi(AnsiColor::BrightRed),
            Color::LightGreen => Sgr::Ansi(AnsiColor::BrightGreen),
            Color::LightYellow => Sgr::Ansi(AnsiColor::BrightYellow),
            Color::LightBlue => Sgr::Ansi(AnsiColor::BrightBlue),
            Color::LightMagenta => Sgr::Ansi(AnsiColor::BrightMagenta),
            Color::LightCyan => Sgr::Ansi(AnsiColor::BrightCyan),
            Color::White => Sgr::Ansi(AnsiColor::BrightWhite),
            Color::Indexed(index) => Sgr::Ansi256(anstyle::Ansi256Color(index)),
            Color::Rgb(r, g, b) => Sgr::Rgb(anstyle::RgbColor(r, g, b)),
        };
        match (self, exact) {
            (Colours::None, _) => None,
            (Colours::Ansi16, colour) => Some(Sgr::Ansi(anstyle_lossy::color_to_ansi(colour, VGA))),
            (Colours::Ansi256, Sgr::Rgb(rgb)) => {
                Some(Sgr::Ansi256(anstyle_lossy::rgb_to_xterm(rgb)))
            }
            (Colours::Ansi256 | Colours::TrueColour, colour) => Some(colour),
        }
    }

    /// A cell's look as this terminal can show it.
    fn pen(self, cell: &Cell) -> anstyle::Style {
        use anstyle::Effects;
        let effects = [
            (Modifier::BOLD, Effects::BOLD),
            (Modifier::DIM, Effects::DIMMED),
            (Modifier::ITALIC, Effects::ITALIC),
            (Modifier::UNDERLINED, Effects::UNDERLINE),
            (Modifier::SLOW_BLINK, Effects::BLINK),
            (Modifier::RAPID_BLINK, Effects::BLINK),
            (Modifier::REVERSED, Effects::INVERT),
            (Modifier::HIDDEN, Effects::HIDDEN),
            (Modifier::CROSSED_OUT, Effects::STRIKETHROUGH),
        ]
        .into_iter()
        .filter(|(modifier, _)| cell.modifier.contains(*modifier))
        .fold(Effects::new(), |all, (_, effect)| all | effect);
        anstyle::Style::new()
            .effects(effects)
            .fg_color(self.show(cell.fg))
            .bg_color(self.show(cell.bg))
    }
}

/// The escape sequences that change the terminal's pen from `from` to `to`: only what was added
/// or changed, or — when an attribute or a colour goes back to the default, which SGR can only
/// say one by one — a reset and the whole new pen, in fewer bytes than undoing each.
fn change_pen(from: anstyle::Style, to: anstyle::Style) -> String {
    let removed = !(from.get_effects() - to.get_effects()).is_plain();
    let back_to_default = (from.get_fg_color().is_some() && to.get_fg_color().is_none())
        || (from.get_bg_color().is_some() && to.get_bg_color().is_none());
    if removed || back_to_default {
        return format!("{}{}", anstyle::Reset, to.render());
    }
    let changed =
        |from: Option<anstyle::Color>, to: Option<anstyle::Color>| to.filter(|_| from != to);
    anstyle::Style::new()
        .effects(to.get_effects() - from.get_effects())
        .fg_color(changed(from.get_fg_color(), to.get_fg_color()))
        .bg_color(changed(from.get_bg_color(), to.get_bg_color()))
        .render()
        .to_string()
}

/// Gives the terminal back: line mode, the main screen, the cursor shown.
///
/// On a terminal that hung up (a closed window, a dropped SSH connection) this fails, and from
/// then on standard output and error go to `/dev/null`: the console must still leave cleanly
/// and close its operator session, and `eprintln!` — which ratatui uses when it cannot show the
/// cursor, and panic reports use — panics on a dead terminal, which during a panic aborts.
pub fn restore() {
    let left = crossterm::terminal::disable_raw_mode().and_then(|()| {
        crossterm::execute!(
            io::stdout(),
            crossterm::terminal::LeaveAlternateScreen,
            crossterm::cursor::Show
        )
    });
    if let Err(error) = left {
        tracing::info!(%error, "the terminal is gone; its output is discarded from now on");
        discard_output();
    }
}

fn discard_output() {
    let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
        return;
    };
    let _ = nix::unistd::dup2_stdout(&null);
    let _ = nix::unistd::dup2_stderr(&null);
}

/// A crossterm backend that skips frames without changed cells and redundant cursor hiding,
/// and wraps each frame it does write in a synchronized update, so slow links never show a
/// half-drawn frame.
pub struct QuietBackend<W: Write> {
    inner: CrosstermBackend<W>,
    colours: Colours,
    cursor_hidden: bool,
    /// Cells were written since the last flush: the frame needs closing and flushing.
    frame_open: bool,
}

impl<W: Write> QuietBackend<W> {
    pub fn new(writer: W, colours: Colours) -> Self {
        QuietBackend {
            inner: CrosstermBackend::new(writer),
            colours,
            cursor_hidden: false,
            frame_open: false,
        }
    }

    /// Rings the terminal bell (BEL), outside any frame.
    pub fn ring_bell(&mut self) -> io::Result<()> {
        self.inner.write_all(b"\x07")?;
        Write::flush(&mut self.inner)
    }

    /// Starts the synchronized update this frame's output goes into, once per frame.
    fn open_frame(&mut self) -> io::Result<()> {
        if !self.frame_open {
            crossterm::queue!(self.inner, BeginSynchronizedUpdate)?;
            self.frame_open = true;
        }
        Ok(())
    }
}

impl<W: Write> Backend for QuietBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            return Ok(());
        }
        self.open_frame()?;
        // Each frame starts, and ends, with the terminal's default pen, as ratatui's own
        // backend leaves it.
        let plain = anstyle::Style::new();
        let mut pen = plain;
        let mut last: Option<(u16, u16)> = None;
        for (x, y, cell) in content {
            if !matches!(last, Some((last_x, last_y)) if x == last_x + 1 && y == last_y) {
                crossterm::queue!(self.inner, MoveTo(x, y))?;
            }
            last = Some((x, y));
            let next = self.colours.pen(cell);
            if next != pen {
                self.inner.write_all(change_pen(pen, next).as_bytes())?;
                pen = next;
            }
            self.inner.write_all(cell.symbol().as_bytes())?;
        }
        if pen != plain {
            write!(self.inner, "{}", anstyle::Reset)?;
        }
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.cursor_hidden {
            return Ok(());
        }
        self.cursor_hidden = true;
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.cursor_hidden = false;
        self.inner.show_cursor()
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position()
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    // A resize clears the screen before the frame is drawn; inside the frame's synchronized
    // update, the terminal shows the new frame in place of the old one, never the blank between.
    fn clear(&mut self) -> io::Result<()> {
        self.open_frame()?;
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.open_frame()?;
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        self.inner.size()
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size()
    }

    fn flush(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.frame_open) {
            crossterm::queue!(self.inner, EndSynchronizedUpdate)?;
        }
        Backend::flush(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use ratatui::layout::Rect;
    use ratatui::widgets::Paragraph;
    use ratatui::{TerminalOptions, Viewport};

    use std::sync::{Arc, Mutex};

    use super::*;

    /// What the backend wrote, readable while the terminal holds the writer.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Vec<u8>>>);

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("recorder").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Recorder {
        fn bytes(&self) -> Vec<u8> {
            self.0.lock().expect("recorder").clone()
        }
    }

    fn terminal(recorder: &Recorder) -> Terminal<QuietBackend<Recorder>> {
        terminal_showing(recorder, Colours::TrueColour)
    }

    fn terminal_showing(recorder: &Recorder, colours: Colours) -> Terminal<QuietBackend<Recorder>> {
        // A fixed viewport never asks the (absent) real terminal for its size.
        Terminal::with_options(
            QuietBackend::new(recorder.clone(), colours),
            TerminalOptions {
                viewport: Viewport::Fixed(Rect::new(0, 0, 20, 2)),
            },
        )
        .expect("terminal on a byte buffer")
    }

    /// One line of cells that exercises every change of pen: attributes added and removed,
    /// colours of each kind set, changed and taken back to the default.
    fn draw_styled(terminal: &mut Terminal<QuietBackend<Recorder>>) {
        use ratatui::style::Style;
        use ratatui::text::{Line, Span};
        let spans = [
            ("a", Style::new().fg(Color::Red)),
            ("b", Style::new().fg(Color::Red).bold().reversed()),
            ("c", Style::new().fg(Color::LightCyan).reversed()),
            ("d", Style::new().bg(Color::Indexed(208))),
            (
                "e",
                Style::new()
                    .fg(Color::Rgb(0x26, 0x8b, 0xd2))
                    .bg(Color::DarkGray),
            ),
            ("f", Style::new().dim().italic().underlined()),
            ("g", Style::new().bg(Color::White)),
            ("h", Style::new()),
            ("i", Style::new().fg(Color::Gray).bold()),
        ];
        let line = Line::from_iter(spans.map(|(text, style)| Span::styled(text, style)));
        terminal
            .draw(|frame| frame.render_widget(Paragraph::new(line), frame.area()))
            .expect("draw");
    }

    /// What a terminal emulator shows for `bytes` in the first row: each cell's text, colours
    /// and attributes.
    fn shown(bytes: &[u8]) -> Vec<(String, vt100::Color, vt100::Color, [bool; 4])> {
        let mut parser = vt100::Parser::new(2, 20, 0);
        parser.process(bytes);
        (0..9)
            .map(|column| {
                let cell = parser.screen().cell(0, column).expect("a cell");
                let attributes = [cell.bold(), cell.italic(), cell.underline(), cell.inverse()];
                (
                    cell.contents().to_owned(),
                    cell.fgcolor(),
                    cell.bgcolor(),
                    attributes,
                )
            })
            .collect()
    }

    #[test]
    fn every_change_of_pen_shows_each_cell_as_drawn() {
        use vt100::Color::{Default, Idx, Rgb};
        let recorder = Recorder::default();
        draw_styled(&mut terminal(&recorder));
        let plain = [false; 4];
        assert_eq!(
            shown(&recorder.bytes()),
            [
                ("a".into(), Idx(1), Default, plain),
                ("b".into(), Idx(1), Default, [true, false, false, true]),
                ("c".into(), Idx(14), Default, [false, false, false, true]),
                ("d".into(), Default, Idx(208), plain),
                ("e".into(), Rgb(0x26, 0x8b, 0xd2), Idx(8), plain),
                ("f".into(), Default, Default, [false, true, true, false]),
                ("g".into(), Default, Idx(15), plain),
                ("h".into(), Default, Default, plain),
                ("i".into(), Idx(7), Default, [true, false, false, false]),
            ]
        );
    }

    #[test]
    fn a_16_colour_terminal_is_sent_only_the_16_colours() {
        let recorder = Recorder::default();
        draw_styled(&mut terminal_showing(&recorder, Colours::Ansi16));
        let bytes = String::from_utf8_lossy(&recorder.bytes()).into_owned();
        // Each colour is a sequence of its own: 256-colour and 24-bit ones start so.
        assert!(
            !bytes.contains("\x1b[38;") && !bytes.contains("\x1b[48;"),
            "{bytes:?}"
        );
        // Red is 31; the 256-colour orange and the 24-bit blue their nearest basic colours.
        assert!(bytes.contains("\x1b[31m"), "{bytes:?}");
        let shown = shown(&recorder.bytes());
        assert!(
            matches!(shown[3].2, vt100::Color::Idx(0..=15)),
            "{:?}",
            shown[3]
        );
        assert!(
            matches!(shown[4].1, vt100::Color::Idx(0..=15)),
            "{:?}",
            shown[4]
        );
    }

    #[test]
    fn a_256_colour_terminal_is_sent_no_24_bit_colour() {
        let recorder = Recorder::default();
        draw_styled(&mut terminal_showing(&recorder, Colours::Ansi256));
        let bytes = String::from_utf8_lossy(&recorder.bytes()).into_owned();
        assert!(!bytes.contains("8;2;"), "{bytes:?}");
        assert!(bytes.contains("\x1b[48;5;208m"), "{bytes:?}");
    }

    #[test]
    fn a_terminal_without_colour_gets_attributes_only() {
        let recorder = Recorder::default();
        draw_styled(&mut terminal_showing(&recorder, Colours::None));
        let shown = shown(&recorder.bytes());
        for cell in &shown {
            assert_eq!(
                (cell.1, cell.2),
                (vt100::Color::Default, vt100::Color::Default),
                "{cell:?}"
            );
        }
        assert_eq!(
            shown[1].3,
            [true, false, false, true],
            "bold and reversed kept"
        );
        assert_eq!(
            shown[5].3,
            [false, true, true, false],
            "italic and underline kept"
        );
    }

    fn draw_text(terminal: &mut Terminal<QuietBackend<Recorder>>, text: &str) {
        terminal
            .draw(|frame| frame.render_widget(Paragraph::new(text), frame.area()))
            .expect("draw");
    }

    #[test]
    fn an_unchanged_frame_writes_nothing() {
        let recorder = Recorder::default();
        let mut terminal = terminal(&recorder);
        draw_text(&mut terminal, "cpu 12%");
        let first = recorder.bytes().len();
        assert!(first > 0);
        draw_text(&mut terminal, "cpu 12%");
        assert_eq!(
            recorder.bytes().len(),
            first,
            "an identical frame wrote bytes"
        );
    }

    #[test]
    fn a_clear_is_inside_the_frame_it_precedes() {
        let recorder = Recorder::default();
        let mut terminal = terminal(&recorder);
        draw_text(&mut terminal, "cpu 12%");
        let before = recorder.bytes().len();
        // What ratatui's resize does first (its own clear() needs a real terminal's cursor).
        Backend::clear(terminal.backend_mut()).expect("clear");
        draw_text(&mut terminal, "cpu 13%");
        let frame = String::from_utf8_lossy(&recorder.bytes()[before..]).into_owned();
        let (begin, clear, end) = (
            frame.find("\x1b[?2026h"),
            frame.find("\x1b[2J"),
            frame.rfind("\x1b[?2026l"),
        );
        assert!(
            matches!((begin, clear, end), (Some(b), Some(c), Some(e)) if b < c && c < e),
            "{frame:?}"
        );
    }

    #[test]
    fn a_changed_cell_is_written_inside_a_synchronized_update() {
        let recorder = Recorder::default();
        let mut terminal = terminal(&recorder);
        draw_text(&mut terminal, "cpu 12%");
        let before = recorder.bytes().len();
        draw_text(&mut terminal, "cpu 13%");
        let frame = String::from_utf8_lossy(&recorder.bytes()[before..]).into_owned();
        assert!(frame.starts_with("\x1b[?2026h"), "{frame:?}");
        assert!(frame.ends_with("\x1b[?2026l"), "{frame:?}");
        assert!(frame.contains('3'), "{frame:?}");
        // The cursor was hidden by the first frame and is not hidden again.
        assert!(!frame.contains("\x1b[?25l"), "{frame:?}");
    }
}
