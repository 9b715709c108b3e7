//! A configuration read again (SIGUSR1 or the palette): unchanged sources keep their rows,
//! stopped and restarted ones lose them, and a file that does not load changes nothing.

use crate::config::Config;

use super::*;

fn config(text: &str) -> Config {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).expect("config written");
    crate::config::load(Some(&path)).expect("the test configuration is valid")
}

const RELOADED: &str = r#"
[wall]
rotate = "45s"

[[source]]
name = "api-prod"
kind = "http"
url = "http://127.0.0.1:1/health"

[[source]]
name = "api-stage"
kind = "http"
url = "http://127.0.0.1:2/health"
"#;

#[test]
fn a_reload_keeps_the_rows_of_unchanged_sources_and_drops_the_rest() {
    let mut s = state();
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["prod-1"], t0()))),
    );
    update(
        &mut s,
        polled("api-dev", t0(), Ok(hosts("api-dev", &["dev-1"], t0()))),
    );

    assert_eq!(
        update(&mut s, Msg::Command(Command::ReloadConfig)),
        vec![Effect::LoadConfig]
    );
    assert_eq!(s.notice.as_deref(), Some("reloading the configuration…"));

    // The pollers found api-prod unchanged, stopped api-dev and started api-stage.
    update(
        &mut s,
        Msg::Reconfigured {
            config: Box::new(config(RELOADED)),
            restarted: vec!["api-dev".to_owned()],
        },
    );
    assert_eq!(visible_hosts(&s), vec!["prod-1"]);
    let names: Vec<&str> = s.sources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["api-prod", "api-stage"]);
    assert_eq!(s.sources[0].last_success, Some(t0()), "kept as it was");
    assert_eq!(s.sources[1].status, SourceStatus::Pending);
    assert_eq!(s.alert_sources, ["api-prod", "api-stage"]);
    assert_eq!(s.wall.config.rotate, std::time::Duration::from_secs(45));
    assert_eq!(
        s.notice.as_deref(),
        Some("configuration reloaded: 1 source(s) started, 1 stopped, 1 unchanged")
    );
}

#[test]
fn a_changed_source_starts_afresh() {
    let mut s = state();
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["prod-1"], t0()))),
    );
    update(
        &mut s,
        Msg::Reconfigured {
            config: Box::new(config(RELOADED)),
            restarted: vec!["api-prod".to_owned(), "api-dev".to_owned()],
        },
    );
    assert!(visible_hosts(&s).is_empty());
    assert_eq!(s.sources[0].status, SourceStatus::Pending);
}

#[test]
fn a_file_that_does_not_load_changes_nothing_and_says_why() {
    let mut s = state();
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["prod-1"], t0()))),
    );
    update(
        &mut s,
        Msg::ConfigLoaded(Err(
            "ondeck.toml:3:7: `every` is too short\n  more detail".to_owned()
        )),
    );
    assert_eq!(visible_hosts(&s), vec!["prod-1"]);
    assert_eq!(s.sources.len(), 2);
    assert_eq!(
        s.notice.as_deref(),
        Some(
            "configuration not reloaded, the running one stays: ondeck.toml:3:7: `every` is too short"
        )
    );
}

#[test]
fn sigusr1_reloads_from_any_dialog() {
    let mut s = state();
    s.overlay = Overlay::Help { scroll: 0 };
    assert_eq!(
        update(&mut s, Msg::ReloadRequested),
        vec![Effect::LoadConfig]
    );
}
