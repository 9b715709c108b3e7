//! A job's log as the console holds it: a bounded window of lines, fed live by the jobs this
//! console runs and paged from the store's `job_log` for any job.
//!
//! Lines read from the store carry their number there, which is how the page before them is
//! asked for; lines that arrived live have none. The window never holds more than
//! [`LINES_KEPT`] lines: live lines push the oldest out, older pages push the newest out.

use std::collections::VecDeque;

/// Lines of one job's log held at most.
pub const LINES_KEPT: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The line's number in the store's log, for lines read from it.
    pub number: Option<i64>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLog {
    lines: VecDeque<LogLine>,
    /// The first line held is the log's first: there is nothing older to page in.
    has_start: bool,
    /// The last line held is the newest: live lines are appended only then, so the window
    /// never has a hole in it.
    has_end: bool,
    /// The page asked for and not arrived yet (`before`, as [`JobLog::older_page`] gives it).
    pending: Option<Option<i64>>,
}

impl JobLog {
    /// The log of a job this console has just started: empty, and complete.
    pub fn live() -> JobLog {
        JobLog {
            lines: VecDeque::new(),
            has_start: true,
            has_end: true,
            pending: None,
        }
    }

    /// The log of a job that ran elsewhere (or before): nothing held until its newest page
    /// arrives, which is asked for at once.
    pub fn from_store() -> JobLog {
        JobLog {
            lines: VecDeque::new(),
            has_start: false,
            has_end: false,
            pending: Some(None),
        }
    }

    pub fn lines(&self) -> &VecDeque<LogLine> {
        &self.lines
    }

    /// Whether every line of the job's log so far is held: nothing to read from the store.
    pub fn is_complete(&self) -> bool {
        self.has_start && self.has_end
    }

    pub fn has_start(&self) -> bool {
        self.has_start
    }

    pub fn has_end(&self) -> bool {
        self.has_end
    }

    pub fn is_loading(&self) -> bool {
        self.pending.is_some()
    }

    /// Lines the job printed just now.
    pub fn push_live(&mut self, lines: Vec<String>) {
        if !self.has_end {
            // Paged back into the past: the newest page brings these when the operator returns.
            return;
        }
        self.lines
            .extend(lines.into_iter().map(|text| LogLine { number: None, text }));
        let excess = self.lines.len().saturating_sub(LINES_KEPT);
        if excess > 0 {
            self.lines.drain(..excess);
            self.has_start = false;
        }
    }

    /// What to ask the store for to go further back, and notes that it was asked: the lines
    /// before the first one held, or — when that one arrived live and has no number — the
    /// newest page, which puts numbers on the window. `None` when there is nothing older or a
    /// page is on its way.
    pub fn ask_older(&mut self) -> Option<Option<i64>> {
        if self.has_start || self.pending.is_some() {
            return None;
        }
        let before = self.lines.front().and_then(|line| line.number);
        self.pending = Some(before);
        Some(before)
    }

    /// The newest page, to come back to the end after paging into the past; `None` when the
    /// end is held or a page is on its way.
    pub fn ask_newest(&mut self) -> Option<Option<i64>> {
        if self.has_end || self.pending.is_some() {
            return None;
        }
        self.pending = Some(None);
        Some(None)
    }

    /// A page arrived: lines before line `before`, or the newest for `None`, oldest first.
    /// Says how many lines now sit above the ones that were held, so that a view can stay on
    /// what it showed.
    pub fn page_loaded(&mut self, before: Option<i64>, page: Vec<(i64, String)>) -> PageResult {
        if self.pending != Some(before) {
            return PageResult::Dropped;
        }
        self.pending = None;
        let page = page.into_iter().map(|(number, text)| LogLine {
            number: Some(number),
            text,
        });
        match before {
            None => {
                // The store has every line the engine passed on (it writes them before it
                // sends them), so its newest page replaces what was held. Live lines arriving
                // from now on follow it.
                self.lines = page.collect();
                self.has_end = true;
                self.has_start = self.lines.is_empty();
                let excess = self.lines.len().saturating_sub(LINES_KEPT);
                self.lines.drain(..excess);
                PageResult::Replaced
            }
            Some(_) => {
                let page: Vec<LogLine> = page.collect();
                if page.is_empty() {
                    self.has_start = true;
                    return PageResult::Prepended(0);
                }
                let added = page.len();
                for line in page.into_iter().rev() {
                    self.lines.push_front(line);
                }
                if self.lines.len() > LINES_KEPT {
                    self.lines.truncate(LINES_KEPT);
                    self.has_end = false;
                }
                PageResult::Prepended(added.min(LINES_KEPT))
            }
        }
    }
}

/// What a page did to the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageResult {
    /// The newest page is now the whole window.
    Replaced,
    /// This many lines came in above the ones held.
    Prepended(usize),
    /// Not the page asked for (an answer to an earlier request, overtaken): nothing changed.
    Dropped,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(range: std::ops::Range<i64>) -> Vec<(i64, String)> {
        range.map(|n| (n, format!("line {n}"))).collect()
    }

    fn texts(log: &JobLog) -> Vec<String> {
        log.lines().iter().map(|l| l.text.clone()).collect()
    }

    #[test]
    fn a_live_log_keeps_only_the_newest_lines_and_then_pages_from_the_store() {
        let mut log = JobLog::live();
        assert!(log.is_complete());
        assert_eq!(log.ask_older(), None, "a complete log has nothing older");
        log.push_live((0..LINES_KEPT + 5).map(|n| format!("out {n}")).collect());
        assert_eq!(log.lines().len(), LINES_KEPT);
        assert_eq!(log.lines()[0].text, "out 5");
        assert!(!log.is_complete());
        // The live lines have no numbers: going back starts from the store's newest page.
        assert_eq!(log.ask_older(), Some(None));
        assert_eq!(log.ask_older(), None, "one request at a time");
        assert_eq!(
            log.page_loaded(None, numbered(100..103)),
            PageResult::Replaced
        );
        assert_eq!(texts(&log), ["line 100", "line 101", "line 102"]);
        assert_eq!(log.ask_older(), Some(Some(100)));
    }

    #[test]
    fn older_pages_go_in_front_and_an_empty_one_marks_the_start() {
        let mut log = JobLog::from_store();
        assert!(log.is_loading());
        assert_eq!(
            log.page_loaded(None, numbered(50..60)),
            PageResult::Replaced
        );
        log.push_live(vec!["live".into()]);
        assert_eq!(log.ask_older(), Some(Some(50)));
        assert_eq!(
            log.page_loaded(Some(50), numbered(40..50)),
            PageResult::Prepended(10)
        );
        assert_eq!(log.lines().len(), 21);
        assert_eq!(log.lines()[0].number, Some(40));
        assert_eq!(log.lines()[20].text, "live");
        assert_eq!(log.ask_older(), Some(Some(40)));
        assert_eq!(
            log.page_loaded(Some(40), Vec::new()),
            PageResult::Prepended(0)
        );
        assert!(log.is_complete());
        assert_eq!(log.ask_older(), None);
    }

    #[test]
    fn paging_back_past_the_bound_drops_the_newest_until_the_end_is_asked_for_again() {
        let mut log = JobLog::from_store();
        log.page_loaded(None, numbered(10_000..10_900));
        assert_eq!(log.ask_older(), Some(Some(10_000)));
        log.page_loaded(Some(10_000), numbered(9_500..10_000));
        assert_eq!(log.lines().len(), LINES_KEPT);
        assert_eq!(log.lines().back().and_then(|l| l.number), Some(10_499));
        // Live lines would leave a hole after line 10,499: they wait for the newest page.
        log.push_live(vec!["live".into()]);
        assert_eq!(log.lines().len(), LINES_KEPT);
        assert_eq!(log.ask_newest(), Some(None));
        log.page_loaded(None, numbered(10_000..10_901));
        assert_eq!(log.lines().back().and_then(|l| l.number), Some(10_900));
        assert_eq!(log.ask_newest(), None);
    }

    #[test]
    fn a_page_that_was_not_asked_for_changes_nothing() {
        let mut log = JobLog::live();
        log.push_live(vec!["a".into()]);
        assert_eq!(
            log.page_loaded(None, numbered(1..3)),
            PageResult::Dropped,
            "nothing was asked"
        );
        assert_eq!(texts(&log), ["a"]);
    }
}
