//! Validation of a configuration document into [`Config`]. Every reader (each in its table's
//! file) reads all of its keys before giving up on a missing or bad one, so that one run
//! reports every problem.

use std::collections::BTreeMap;
use std::path::Path;

use toml::de::DeTable;

use super::action::{check_reference, read_action, resolve_unseal_nodes};
use super::console::{default_console, read_console};
use super::diagnostics::{Diagnostic, Problems, Table};
use super::operator::read_operator;
use super::source::read_source;
use super::store::{default_store, read_store};
use super::wall::read_wall;
use super::{
    ActionConfig, ActionSpec, Config, ReleaseFrom, ReleaseSource, SourceConfig, SourceSpec,
    WallConfig,
};

pub(super) fn parse(
    file: &str,
    text: &str,
    path: Option<&Path>,
) -> Result<Config, Vec<Diagnostic>> {
    let mut problems = Problems::new(file, text);
    let (document, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        // After a syntax error the document is a best guess; validating it would report
        // phantom problems.
        problems.syntax(errors);
        return Err(problems.finish().err().unwrap_or_default());
    }
    let mut root = Table::root(&document);

    let console = match root.table(&mut problems, "console", "a [console] table") {
        Some(mut table) => {
            let console = read_console(&mut table, &mut problems);
            table.finish(&mut problems, "[console]");
            console
        }
        None => default_console(),
    };
    let store = match root.table(&mut problems, "store", "a [store] table") {
        Some(mut table) => {
            let store = read_store(&mut table, &mut problems);
            table.finish(&mut problems, "[store]");
            store
        }
        None => default_store(&mut problems, root.span()),
    };
    let wall = match root.table(&mut problems, "wall", "a [wall] table") {
        Some(mut table) => {
            let wall = read_wall(&mut table, &mut problems);
            table.finish(&mut problems, "[wall]");
            wall
        }
        None => WallConfig::default(),
    };

    let mut sources = Vec::new();
    let mut source_names: BTreeMap<String, usize> = BTreeMap::new();
    for mut table in root.array_of_tables(&mut problems, "source") {
        if let Some(source) = read_source(&mut table, &mut problems, &mut source_names) {
            sources.push(source);
        }
    }

    let mut actions = Vec::new();
    let mut action_names: BTreeMap<String, usize> = BTreeMap::new();
    let mut references = Vec::new();
    for mut table in root.array_of_tables(&mut problems, "action") {
        if let Some(action) = read_action(
            &mut table,
            &mut problems,
            &mut action_names,
            &mut references,
        ) {
            actions.push(action);
        }
    }
    let mut operators = Vec::new();
    let mut operator_names: BTreeMap<String, usize> = BTreeMap::new();
    for mut table in root.array_of_tables(&mut problems, "operator") {
        if let Some(operator) = read_operator(&mut table, &mut problems, &mut operator_names) {
            operators.push(operator);
        }
    }
    root.finish(
        &mut problems,
        "the configuration (top level: [console], [store], [wall], [[source]], [[action]], [[operator]])",
    );

    for reference in references {
        check_reference(&reference, &sources, &mut problems);
    }
    resolve_unseal_nodes(&mut actions, &sources);
    if let Some(dir) = path.and_then(Path::parent) {
        anchor_programs(&mut sources, &mut actions, dir);
    }

    problems.finish()?;
    Ok(Config {
        path: path.map(Path::to_owned),
        console,
        store,
        wall,
        sources,
        actions,
        operators,
    })
}

/// A relative program (`./scripts/deploy.py`, `bin/state`) means the one beside the
/// configuration file, wherever ondeck was started from; a bare name (`python3`) is looked up
/// in `PATH`.
fn anchor_programs(sources: &mut [SourceConfig], actions: &mut [ActionConfig], dir: &Path) {
    let argvs = sources
        .iter_mut()
        .filter_map(|source| match &mut source.spec {
            SourceSpec::Release(ReleaseSource {
                from: ReleaseFrom::Argv(argv),
                ..
            }) => Some(argv),
            _ => None,
        })
        .chain(actions.iter_mut().flat_map(|action| {
            match &mut action.spec {
                ActionSpec::Rollback(rollback) => vec![&mut rollback.argv],
                ActionSpec::Command(command) => vec![&mut command.argv],
                ActionSpec::PgRestore(restore) => restore
                    .stop
                    .iter_mut()
                    .chain(restore.start.iter_mut())
                    .collect(),
                _ => Vec::new(),
            }
        }));
    for argv in argvs {
        if let Some(program) = argv.first_mut() {
            *program = crate::process::anchored(program, dir).display().to_string();
        }
    }
}
