//! The terminal the console owns: taking it over, and a backend that writes nothing for a frame
//! in which no cell changed.
//!
//! ratatui's diff already sends only changed cells, but every frame still ends with colour and
//! attribute resets and a hide-cursor sequence, and ondeck wraps each frame in a synchronized
//! update. A poll that brings the same numbers back would cost those bytes every few seconds
//! over SSH for nothing. [`QuietBackend`] holds them back unless a cell really changed, so an
//! unchanged screen costs zero bytes. No crate offers this, hence the small wrapper.

use std::io::{self, Stdout, Write};

use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

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
    Terminal::new(QuietBackend::new(io::stdout()))
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
    cursor_hidden: bool,
    /// Cells were written since the last flush: the frame needs closing and flushing.
    frame_open: bool,
}

impl<W: Write> QuietBackend<W> {
    pub fn new(writer: W) -> Self {
        QuietBackend {
            inner: CrosstermBackend::new(writer),
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
        self.inner.draw(content)
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
        // A fixed viewport never asks the (absent) real terminal for its size.
        Terminal::with_options(
            QuietBackend::new(recorder.clone()),
            TerminalOptions {
                viewport: Viewport::Fixed(Rect::new(0, 0, 20, 2)),
            },
        )
        .expect("terminal on a byte buffer")
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
