//! One pane's rows, kept together by the source that reported them.
//!
//! Each poll replaces all of one source's rows. With the rows in one plain list, that meant
//! looking at every row of the pane to find the source's, and moving the rest: a host poll
//! compared the source of each of 100,000 audit records just to learn it had none there. Here
//! the rows of a source sit side by side and the list knows where, so a poll replaces its
//! source's rows where they are and leaves the others untouched.

use std::ops::{Deref, Range};

use crate::row_identity::Identified;

/// A pane's rows, read as a slice; changed a source at a time by [`SourceRows::replace`].
///
/// No `DerefMut`: a row whose source changed in place would leave the spans wrong.
#[derive(Debug, Clone)]
pub struct SourceRows<T> {
    rows: Vec<T>,
    /// Where the rows of each source lie, in row order: each span is a maximal run of rows of
    /// one source. A source usually has one span; rows given in another order (a list built
    /// by hand) may give it several, which its next replacement gathers into one.
    spans: Vec<Range<usize>>,
}

impl<T> Default for SourceRows<T> {
    fn default() -> SourceRows<T> {
        SourceRows {
            rows: Vec::new(),
            spans: Vec::new(),
        }
    }
}

impl<T> Deref for SourceRows<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.rows
    }
}

impl<'a, T> IntoIterator for &'a SourceRows<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.rows.iter()
    }
}

/// Equal when the rows are: the spans only say where the rows already are.
impl<T: PartialEq> PartialEq for SourceRows<T> {
    fn eq(&self, other: &SourceRows<T>) -> bool {
        self.rows == other.rows
    }
}

impl<T: Identified> From<Vec<T>> for SourceRows<T> {
    fn from(rows: Vec<T>) -> SourceRows<T> {
        let spans = spans_of(&rows);
        SourceRows { rows, spans }
    }
}

impl<T: Identified> FromIterator<T> for SourceRows<T> {
    fn from_iter<I: IntoIterator<Item = T>>(rows: I) -> SourceRows<T> {
        SourceRows::from(rows.into_iter().collect::<Vec<T>>())
    }
}

impl<T: Identified> SourceRows<T> {
    pub fn clear(&mut self) {
        self.rows.clear();
        self.spans.clear();
    }

    pub fn push(&mut self, row: T) {
        let at = self.rows.len();
        match self.spans.last_mut() {
            Some(last) if self.rows.last().is_some_and(|r| r.source() == row.source()) => {
                last.end = at + 1;
            }
            _ => self.spans.push(at..at + 1),
        }
        self.rows.push(row);
    }

    /// Puts `row` in place of the row at `index`, if there is one. A row of another source
    /// than the one it replaces has the spans worked out again.
    pub fn set(&mut self, index: usize, row: T) {
        let Some(held) = self.rows.get_mut(index) else {
            return;
        };
        let same_source = held.source() == row.source();
        *held = row;
        if !same_source {
            self.spans = spans_of(&self.rows);
        }
    }

    /// Replaces every row of `source` by `fresh`, in place when the source's rows lie in one
    /// span, at the end when it had none. Returns whether anything changed: a source that had
    /// no rows here and still has none leaves the pane as it was.
    pub fn replace(&mut self, source: &str, fresh: Vec<T>) -> bool {
        let mut found = self
            .spans
            .iter()
            .enumerate()
            .filter(|(_, span)| self.rows[span.start].source() == source)
            .map(|(index, _)| index);
        match (found.next(), found.next()) {
            (None, _) if fresh.is_empty() => false,
            (None, _) => {
                let start = self.rows.len();
                self.rows.extend(fresh);
                self.spans.push(start..self.rows.len());
                true
            }
            (Some(index), None) => {
                self.replace_span(index, fresh);
                true
            }
            (Some(_), Some(_)) => {
                self.rows.retain(|row| row.source() != source);
                self.rows.extend(fresh);
                self.spans = spans_of(&self.rows);
                true
            }
        }
    }

    /// Replaces the rows of span `index` by `fresh`, which are all of the same source; the
    /// spans after it move by the difference in length.
    fn replace_span(&mut self, index: usize, fresh: Vec<T>) {
        let span = self.spans[index].clone();
        let (removed, added) = (span.len(), fresh.len());
        self.rows.splice(span.clone(), fresh);
        if added == 0 {
            // Its neighbours may now be one source's two spans; both still name their rows.
            self.spans.remove(index);
        } else {
            self.spans[index].end = span.start + added;
        }
        if added != removed {
            let later = if added == 0 { index } else { index + 1 };
            for span in &mut self.spans[later..] {
                *span = span.start + added - removed..span.end + added - removed;
            }
        }
    }
}

/// The maximal runs of rows of one source.
fn spans_of<T: Identified>(rows: &[T]) -> Vec<Range<usize>> {
    let mut spans: Vec<Range<usize>> = Vec::new();
    for (at, row) in rows.iter().enumerate() {
        match spans.last_mut() {
            Some(last) if rows[last.start].source() == row.source() => last.end = at + 1,
            _ => spans.push(at..at + 1),
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::model::{HostRow, HostStatus};

    fn host(source: &str, name: &str) -> HostRow {
        HostRow::checked(
            source,
            name.to_owned(),
            "node",
            HostStatus::Up,
            DateTime::UNIX_EPOCH,
        )
    }

    fn rows(list: &SourceRows<HostRow>) -> Vec<(&str, &str)> {
        list.iter()
            .map(|h| (h.source.as_str(), h.name.as_str()))
            .collect()
    }

    /// The spans must be exactly the maximal runs, whatever happened before.
    fn assert_spans_true(list: &SourceRows<HostRow>) {
        let mut covered = 0;
        for span in &list.spans {
            assert_eq!(span.start, covered, "spans {:?}", list.spans);
            assert!(!span.is_empty(), "spans {:?}", list.spans);
            let source = list.rows[span.start].source();
            assert!(list.rows[span.clone()].iter().all(|r| r.source() == source));
            covered = span.end;
        }
        assert_eq!(covered, list.len());
    }

    #[test]
    fn a_source_is_replaced_where_its_rows_are_and_the_others_stay_put() {
        let mut list: SourceRows<HostRow> = vec![
            host("a", "a1"),
            host("b", "b1"),
            host("b", "b2"),
            host("c", "c1"),
        ]
        .into();
        assert!(list.replace("b", vec![host("b", "b3")]));
        assert_eq!(rows(&list), [("a", "a1"), ("b", "b3"), ("c", "c1")]);
        assert_spans_true(&list);
        assert!(list.replace("a", vec![host("a", "a2"), host("a", "a3")]));
        assert_eq!(
            rows(&list),
            [("a", "a2"), ("a", "a3"), ("b", "b3"), ("c", "c1")]
        );
        assert_spans_true(&list);
        assert!(list.replace("c", vec![host("c", "c2")]));
        assert_eq!(list[3].name, "c2");
        assert_spans_true(&list);
    }

    #[test]
    fn a_new_source_goes_last_and_a_source_with_nothing_is_no_change() {
        let mut list: SourceRows<HostRow> = vec![host("a", "a1")].into();
        assert!(!list.replace("b", Vec::new()));
        assert!(list.replace("b", vec![host("b", "b1")]));
        assert_eq!(rows(&list), [("a", "a1"), ("b", "b1")]);
        assert!(list.replace("a", Vec::new()));
        assert_eq!(rows(&list), [("b", "b1")]);
        assert_spans_true(&list);
        assert!(!list.replace("a", Vec::new()));
    }

    #[test]
    fn a_source_emptied_between_two_spans_of_another_leaves_them_replaceable() {
        let mut list: SourceRows<HostRow> =
            vec![host("a", "a1"), host("b", "b1"), host("a", "a2")].into();
        assert!(list.replace("b", Vec::new()));
        assert_eq!(rows(&list), [("a", "a1"), ("a", "a2")]);
        // Two spans of `a` side by side: replacing `a` gathers and replaces both.
        assert!(list.replace("a", vec![host("a", "a3")]));
        assert_eq!(rows(&list), [("a", "a3")]);
        assert_spans_true(&list);
    }

    #[test]
    fn rows_given_interleaved_are_gathered_at_their_sources_next_replacement() {
        let mut list: SourceRows<HostRow> = (0..6)
            .map(|i| host(["a", "b"][i % 2], &format!("h{i}")))
            .collect();
        assert_spans_true(&list);
        assert!(list.replace("a", vec![host("a", "x")]));
        assert_eq!(
            rows(&list),
            [("b", "h1"), ("b", "h3"), ("b", "h5"), ("a", "x")]
        );
        assert_spans_true(&list);
        list.push(host("a", "y"));
        list.push(host("c", "z"));
        assert_spans_true(&list);
        assert!(list.replace("a", vec![host("a", "w")]));
        assert_eq!(
            rows(&list),
            [
                ("b", "h1"),
                ("b", "h3"),
                ("b", "h5"),
                ("a", "w"),
                ("c", "z")
            ]
        );
        assert_spans_true(&list);
        list.set(0, host("b", "h7"));
        assert_eq!(list[0].name, "h7");
        list.set(3, host("b", "h9"));
        assert_eq!(
            rows(&list),
            [
                ("b", "h7"),
                ("b", "h3"),
                ("b", "h5"),
                ("b", "h9"),
                ("c", "z")
            ]
        );
        assert_spans_true(&list);
        list.set(9, host("d", "nowhere"));
        assert_eq!(list.len(), 5);
        list.clear();
        assert!(list.is_empty());
        assert_spans_true(&list);
    }
}
