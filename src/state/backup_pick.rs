//! The restore dialog's list of backups: read from their manifests off the loop, shown newest
//! first, one of those that check out picked with the arrows.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::actions::backups::Listing;

/// The backups a restore dialog offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupPick {
    pub dir: PathBuf,
    pub list: BackupList,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupList {
    /// Asked for and not arrived yet.
    Reading,
    /// The directory could not be read: nothing can be picked, and Run is refused.
    Unreadable(String),
    Listed {
        /// Newest first, then the files no manifest describes.
        entries: Vec<BackupEntry>,
        /// Into `entries`; always one without a problem. `None` when there is none.
        selected: Option<usize>,
    },
}

/// One backup as the dialog lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupEntry {
    pub file: String,
    /// From its manifest; `None` for a file that no manifest describes.
    pub taken: Option<DateTime<Utc>>,
    pub size: Option<u64>,
    /// Why it cannot be restored; `None` when its size matches its manifest (its sha256 is
    /// checked when the restore runs).
    pub problem: Option<String>,
}

impl BackupPick {
    pub fn reading(dir: PathBuf) -> BackupPick {
        BackupPick {
            dir,
            list: BackupList::Reading,
        }
    }

    pub fn is_reading(&self) -> bool {
        self.list == BackupList::Reading
    }

    /// Takes in the listing; the pick starts on `configured` when that one checks out, else on
    /// the newest that does.
    pub fn listed(&mut self, listing: Result<Listing, String>, configured: Option<&str>) {
        let listing = match listing {
            Ok(listing) => listing,
            Err(error) => {
                self.list = BackupList::Unreadable(error);
                return;
            }
        };
        let mut entries: Vec<BackupEntry> = listing
            .backups
            .into_iter()
            .map(|backup| BackupEntry {
                problem: backup
                    .problem
                    .map(|problem| without_file_name(&backup.manifest.file, problem)),
                file: backup.manifest.file,
                taken: Some(backup.manifest.time),
                size: Some(backup.manifest.size),
            })
            .collect();
        entries.extend(listing.strays.into_iter().map(|(path, problem)| {
            BackupEntry {
                file: path
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                taken: None,
                size: None,
                problem: Some(problem),
            }
        }));
        let good = |entry: &BackupEntry| entry.problem.is_none();
        let selected = configured
            .and_then(|file| entries.iter().position(|e| e.file == file && good(e)))
            .or_else(|| entries.iter().position(good));
        self.list = BackupList::Listed { entries, selected };
    }

    /// The file picked, if any.
    pub fn chosen(&self) -> Option<&str> {
        match &self.list {
            BackupList::Listed {
                entries,
                selected: Some(selected),
            } => entries.get(*selected).map(|entry| entry.file.as_str()),
            _ => None,
        }
    }

    /// Moves the pick to the next backup that checks out, down (older) or up (newer), passing
    /// over those that do not; returns whether it moved.
    pub fn step(&mut self, older: bool) -> bool {
        let BackupList::Listed {
            entries,
            selected: Some(selected),
        } = &mut self.list
        else {
            return false;
        };
        let good = |index: &usize| entries[*index].problem.is_none();
        let next = if older {
            (*selected + 1..entries.len()).find(good)
        } else {
            (0..*selected).rev().find(good)
        };
        match next {
            Some(next) => {
                *selected = next;
                true
            }
            None => false,
        }
    }

    /// Why a restore cannot run with this list, once it has arrived.
    pub fn refusal(&self) -> Option<String> {
        let dir = self.dir.display();
        match &self.list {
            BackupList::Reading => None,
            BackupList::Unreadable(error) => {
                Some(format!("the backups in {dir} cannot be read: {error}"))
            }
            BackupList::Listed { selected: None, .. } => {
                Some(format!("no backup in {dir} can be restored"))
            }
            BackupList::Listed { .. } => None,
        }
    }
}

/// A listing's problem says which file it is about; the dialog shows it beside that file's
/// name already.
fn without_file_name(file: &str, problem: String) -> String {
    match problem.strip_prefix(file) {
        Some(rest) => rest.trim_start_matches(':').trim_start().to_owned(),
        None => problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(file: &str, problem: Option<&str>) -> BackupEntry {
        BackupEntry {
            file: file.to_owned(),
            taken: None,
            size: None,
            problem: problem.map(str::to_owned),
        }
    }

    fn listed(entries: Vec<BackupEntry>, selected: Option<usize>) -> BackupPick {
        BackupPick {
            dir: PathBuf::from("/var/backups"),
            list: BackupList::Listed { entries, selected },
        }
    }

    #[test]
    fn steps_pass_over_the_backups_that_do_not_check_out_and_stop_at_the_ends() {
        let mut pick = listed(
            vec![
                entry("a", None),
                entry("b", Some("truncated")),
                entry("c", None),
                entry("d", Some("no manifest")),
            ],
            Some(0),
        );
        assert!(pick.step(true));
        assert_eq!(pick.chosen(), Some("c"));
        assert!(!pick.step(true), "nothing good after c");
        assert_eq!(pick.chosen(), Some("c"));
        assert!(pick.step(false));
        assert_eq!(pick.chosen(), Some("a"));
        assert!(!pick.step(false));
    }

    #[test]
    fn nothing_to_pick_or_an_unreadable_directory_is_a_refusal() {
        assert_eq!(
            listed(vec![entry("a", Some("truncated"))], None).refusal(),
            Some("no backup in /var/backups can be restored".to_owned())
        );
        let mut pick = BackupPick::reading(PathBuf::from("/var/backups"));
        assert_eq!(pick.refusal(), None, "not known yet");
        pick.listed(Err("Permission denied (os error 13)".to_owned()), None);
        assert_eq!(
            pick.refusal(),
            Some(
                "the backups in /var/backups cannot be read: Permission denied (os error 13)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_problem_does_not_repeat_the_file_name() {
        assert_eq!(
            without_file_name(
                "a.dump",
                "a.dump has 3 bytes, its manifest says 9".to_owned()
            ),
            "has 3 bytes, its manifest says 9"
        );
        assert_eq!(
            without_file_name("a.dump", "a.dump: No such file or directory".to_owned()),
            "No such file or directory"
        );
        assert_eq!(without_file_name("a.dump", "other".to_owned()), "other");
    }
}
