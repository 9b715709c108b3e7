//! Fuzz targets of the configuration, theme and keymap parsers (see `crate::fuzzing`): every
//! shipped file, mutated, is either read or refused with a diagnostic that names a line; none
//! panics.

use proptest::prelude::*;

use super::keymap::{KeyChord, Keymap};
use super::theme::Theme;
use super::{SecretKind, duration, parse, secret::Secret, transport};
use crate::fuzzing::{self, mutated_toml};

const EXAMPLES: [&str; 5] = [
    include_str!("../../examples/certificate-hub.toml"),
    include_str!("../../examples/fastapi-mfa.toml"),
    include_str!("../../examples/flask-ec2.toml"),
    include_str!("../../examples/node-openbao-prometheus.toml"),
    include_str!("../../examples/proxmox-kasm.toml"),
];

const THEMES: [&str; 4] = [
    include_str!("../../themes/default.toml"),
    include_str!("../../themes/high-contrast.toml"),
    include_str!("../../themes/monochrome.toml"),
    include_str!("../../themes/solarized-dark.toml"),
];

const KEYMAPS: [&str; 3] = [
    include_str!("../../keymaps/default.toml"),
    include_str!("../../keymaps/vim.toml"),
    include_str!("../../keymaps/emacs.toml"),
];

fn any_of(files: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(files).prop_flat_map(mutated_toml)
}

/// A refusal must say what is wrong and where.
fn assert_explained(diagnostics: &[super::Diagnostic], text: &str) {
    assert!(
        !diagnostics.is_empty(),
        "refused without a diagnostic:\n{text}"
    );
    for diagnostic in diagnostics {
        assert!(
            !diagnostic.message.trim().is_empty(),
            "empty message for:\n{text}"
        );
        assert!(diagnostic.line >= 1, "line 0 in {diagnostic:?}");
    }
}

fn check_config(text: &str) {
    if let Err(diagnostics) = parse::parse("fuzz.toml", text, None) {
        assert_explained(&diagnostics, text);
    }
}

proptest! {
    #![proptest_config(fuzzing::config())]

    #[test]
    fn fuzz_config(text in prop_oneof![
        mutated_toml(super::DEFAULT_CONFIG),
        any_of(&EXAMPLES),
    ]) {
        check_config(&text);
    }

    #[test]
    fn fuzz_theme(text in any_of(&THEMES)) {
        if let Err(error) = Theme::parse("fuzz", "fuzz.toml", &text) {
            prop_assert!(!error.to_string().trim().is_empty());
        }
    }

    #[test]
    fn fuzz_keymap(text in any_of(&KEYMAPS)) {
        if let Err(error) = Keymap::parse("fuzz", "fuzz.toml", &text) {
            prop_assert!(!error.to_string().trim().is_empty());
        }
    }

    /// The small parsers the tables' readers call, on any text at all.
    #[test]
    fn fuzz_value_parsers(text in prop_oneof!["\\PC{0,40}", any::<String>(), "[0-9]{1,30}[a-zµ ]{0,6}"]) {
        if let Err(message) = KeyChord::parse(&text) {
            prop_assert!(!message.trim().is_empty());
        }
        if let Err(message) = duration::parse(&text) {
            prop_assert!(!message.trim().is_empty());
        }
        for kind in [SecretKind::Token, SecretKind::Url, SecretKind::Value] {
            if let Err(message) = Secret::parse(&text, kind) {
                prop_assert!(!message.trim().is_empty());
            }
        }
        super::mask_url(&text);
        transport::parse_fingerprint(&text);
        transport::is_plain_http_to_remote(&text);
        transport::has_userinfo(&text);
    }
}
