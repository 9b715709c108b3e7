//! Secrets an operator types — an OpenBao key share, a TOTP code — and the masked field they
//! are typed into.
//!
//! A typed secret lives in [`SecretText`]: it prints as `[redacted]` whichever way it is
//! formatted, and its bytes are zeroed when it is dropped. The field keeps no history, undo or
//! yank copy (ratatui-textarea keeps all three, which is why it is not used here), never grows
//! its buffer (a reallocation would leave a copy behind in freed memory) and zeroes it when its
//! text is taken.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use secrecy::{ExposeSecret, SecretString};
use zeroize::{Zeroize, Zeroizing};

/// The longest secret the field takes. An OpenBao share is 44 (base64) or 66 (hex) characters,
/// a TOTP code 6; the rest is room for a share pasted with spaces around it.
pub const MASKED_FIELD_CAPACITY: usize = 256;

/// A secret the operator typed. `Debug` and `Display` say `[redacted]`; dropped, it is zeroed.
#[derive(Clone)]
pub struct SecretText(SecretString);

impl SecretText {
    pub fn new(text: &str) -> SecretText {
        SecretText(SecretString::from(text))
    }

    /// The secret itself, for the one place it is sent.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn is_empty(&self) -> bool {
        self.expose().trim().is_empty()
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Effects carrying a secret are compared in the update tests; nothing else compares them.
impl PartialEq for SecretText {
    fn eq(&self, other: &SecretText) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for SecretText {}

/// A one-line field that shows a bullet per character typed and keeps nothing once its text is
/// taken.
pub struct MaskedField {
    text: Zeroizing<String>,
}

impl Default for MaskedField {
    fn default() -> MaskedField {
        MaskedField {
            text: Zeroizing::new(String::with_capacity(MASKED_FIELD_CAPACITY)),
        }
    }
}

impl fmt::Debug for MaskedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaskedField")
            .field("chars", &self.chars())
            .finish()
    }
}

impl PartialEq for MaskedField {
    /// Two fields are alike when they show alike: the dialog's tests compare states, never
    /// secrets.
    fn eq(&self, other: &MaskedField) -> bool {
        self.chars() == other.chars()
    }
}

impl MaskedField {
    /// How many characters are typed: what the field shows, as bullets.
    pub fn chars(&self) -> usize {
        self.text.chars().count()
    }

    /// A key typed into the field; `false` when the field does not take it (a key it has no
    /// use for, or a character past [`MASKED_FIELD_CAPACITY`]).
    pub fn input(&mut self, key: KeyEvent) -> bool {
        let control = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('u') if control => {
                self.text.zeroize();
                true
            }
            KeyCode::Char(c) if !control && !c.is_control() => {
                if self.text.len() + c.len_utf8() > self.text.capacity() {
                    return false;
                }
                self.text.push(c);
                true
            }
            KeyCode::Backspace => self.text.pop().is_some(),
            _ => false,
        }
    }

    /// The text typed, trimmed, leaving the field empty and its buffer zeroed.
    pub fn take(&mut self) -> SecretText {
        let secret = SecretText::new(self.text.trim());
        self.text.zeroize();
        secret
    }

    /// The whole buffer, spare capacity included, for the test that nothing is left in it.
    #[cfg(test)]
    fn buffer(&self) -> Vec<u8> {
        let capacity = self.text.capacity();
        // SAFETY: the buffer was allocated with `capacity` bytes, every one of them written
        // (by pushes, or by the zeroing that leaves the spare capacity initialised).
        unsafe { std::slice::from_raw_parts(self.text.as_ptr(), capacity) }.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> MaskedField {
        let mut field = MaskedField::default();
        // Zeroed first, so that every byte of the buffer is initialised for `buffer`.
        field.text.zeroize();
        for c in text.chars() {
            assert!(field.input(KeyEvent::from(KeyCode::Char(c))));
        }
        field
    }

    #[test]
    fn a_secret_is_redacted_however_it_is_formatted() {
        let share = SecretText::new("c2hhcmUtb25lLW9mLWZpdmU=");
        assert_eq!(format!("{share:?}"), "[redacted]");
        assert_eq!(format!("{share}"), "[redacted]");
        assert_eq!(format!("{share:#?}"), "[redacted]");
        let nested = Some(vec![share.clone()]);
        assert!(!format!("{nested:?}").contains("c2hh"));
        assert_eq!(share.expose(), "c2hhcmUtb25lLW9mLWZpdmU=");
    }

    #[test]
    fn the_field_keeps_nothing_of_a_taken_secret() {
        let mut field = typed("  s3cr3t-share  ");
        assert_eq!(field.chars(), 16);
        assert!(!format!("{field:?}").contains("s3cr3t"));
        let taken = field.take();
        assert_eq!(taken.expose(), "s3cr3t-share");
        assert_eq!(field.chars(), 0);
        assert!(
            field.buffer().iter().all(|&b| b == 0),
            "the field's buffer still holds bytes of the secret"
        );
        // The field is used again for the next share, in the same buffer.
        assert!(field.input(KeyEvent::from(KeyCode::Char('x'))));
        assert_eq!(field.take().expose(), "x");
    }

    #[test]
    fn the_field_never_grows_past_its_buffer() {
        let mut field = typed(&"a".repeat(MASKED_FIELD_CAPACITY));
        let capacity = field.text.capacity();
        assert!(!field.input(KeyEvent::from(KeyCode::Char('b'))));
        assert_eq!(
            field.text.capacity(),
            capacity,
            "the buffer was reallocated"
        );
        assert!(field.input(KeyEvent::from(KeyCode::Backspace)));
        assert_eq!(field.chars(), MASKED_FIELD_CAPACITY - 1);
        assert!(field.input(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
        assert_eq!(field.chars(), 0);
        assert!(field.buffer().iter().all(|&b| b == 0));
    }
}
