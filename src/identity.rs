//! Who is at the console: the operating-system account running ondeck, the machine, and the SSH
//! connection it came in on. Every audit record and operator session carries this identity.
//!
//! The account is read from the kernel (the real uid) and the account database (its passwd
//! entry), never from the environment: `$USER`, `$LOGNAME` and `[console] operator` are whatever
//! the person at the keyboard typed, so they are kept only as a display label beside the identity.
//! On a shared PostgreSQL store the store adds the server's `session_user`, the database role the
//! console logged in as (one role per operator makes that a second, independent witness).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// The identity recorded with an audit record or an operator session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorIdentity {
    /// The name of the passwd entry of `uid`, or the uid in decimal when the account database
    /// has none (a container started with an arbitrary uid).
    pub os_user: String,
    /// The real uid of the process: only root can run a program under another one.
    pub uid: u32,
    /// The machine's host name.
    pub host: String,
    /// `ADDRESS:PORT` of the SSH client, as the login's environment tells it; `None` for a local
    /// login. A hint, not evidence: see [`ssh_client_from`].
    pub ssh_client: Option<String>,
    /// The database role (`session_user`) the store's connection logged in as; `None` on SQLite.
    /// Set by the store when it writes, from the server itself: a caller's value is replaced.
    pub db_user: Option<String>,
    /// `[console] operator` (default `$USER`): a name for people to read, never the identity.
    pub label: String,
}

impl OperatorIdentity {
    /// The identity of this process, with `label` beside it.
    pub fn current(label: &str) -> OperatorIdentity {
        let uid = nix::unistd::getuid();
        // nix calls getpwuid_r, which also asks NSS (LDAP, sssd) for directory accounts. A
        // failed lookup is recorded as the bare uid rather than refusing to start: the uid is
        // the identity, the name only spells it.
        let os_user = match nix::unistd::User::from_uid(uid) {
            Ok(Some(user)) => user.name,
            Ok(None) | Err(_) => uid.to_string(),
        };
        let host = nix::unistd::gethostname()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown-host".to_owned());
        let ssh_client = ssh_client_from(
            std::env::var("SSH_CONNECTION").ok().as_deref(),
            std::env::var("SSH_CLIENT").ok().as_deref(),
        );
        OperatorIdentity {
            os_user,
            uid: uid.as_raw(),
            host,
            ssh_client,
            db_user: None,
            label: label.to_owned(),
        }
    }
}

/// `alice@ops-01`, then `(as LABEL)` when the label says something else.
impl fmt::Display for OperatorIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.os_user, self.host)?;
        if self.label != self.os_user {
            write!(f, " (as {})", self.label)?;
        }
        Ok(())
    }
}

/// The SSH client's `ADDRESS:PORT` from `SSH_CONNECTION` (`client_ip client_port server_ip
/// server_port`), else the older `SSH_CLIENT` (`client_ip client_port server_port`).
///
/// What it is worth: sshd sets both in the login's environment, so an untouched value does
/// name the client the connection came from. But the environment belongs to the user, who can
/// set any value before starting ondeck; `su`/`sudo` may keep or drop it; and a tmux or screen
/// session keeps the value of the connection that started it, so a console reattached from
/// elsewhere reports the first client. It tells the reader of the audit where the operator
/// said they sat; the uid is what says who they are. A value that is not an address and a
/// port is recorded as no client, so nothing arbitrary reaches the audit through it.
pub fn ssh_client_from(ssh_connection: Option<&str>, ssh_client: Option<&str>) -> Option<String> {
    [ssh_connection, ssh_client]
        .into_iter()
        .flatten()
        .find_map(|value| {
            let mut parts = value.split_whitespace();
            let address: IpAddr = parts.next()?.parse().ok()?;
            let port: u16 = parts.next()?.parse().ok()?;
            Some(SocketAddr::new(address, port).to_string())
        })
}

/// The terminal on standard input (`pts/3`), where the login that runs ondeck sits.
pub fn terminal() -> Option<String> {
    let path = nix::unistd::ttyname(std::io::stdin()).ok()?;
    let name = path.strip_prefix("/dev").unwrap_or(&path);
    Some(name.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ssh_client_is_an_address_and_a_port_or_nothing() {
        assert_eq!(
            ssh_client_from(Some("203.0.113.7 52144 192.0.2.1 22"), None).as_deref(),
            Some("203.0.113.7:52144")
        );
        assert_eq!(
            ssh_client_from(Some("2001:db8::7 52144 2001:db8::1 22"), None).as_deref(),
            Some("[2001:db8::7]:52144")
        );
        // SSH_CLIENT when SSH_CONNECTION is missing or unusable.
        assert_eq!(
            ssh_client_from(Some("nonsense"), Some("198.51.100.2 40000 22")).as_deref(),
            Some("198.51.100.2:40000")
        );
        for junk in [
            "",
            "db.example.com 22",
            "203.0.113.7",
            "203.0.113.7 99999",
            "\u{1b}[2J 1",
        ] {
            assert_eq!(ssh_client_from(Some(junk), None), None, "{junk:?}");
        }
        assert_eq!(ssh_client_from(None, None), None);
    }

    #[test]
    fn the_label_is_shown_beside_the_account_only_when_it_differs() {
        let mut identity = OperatorIdentity {
            os_user: "alice".into(),
            uid: 1000,
            host: "ops-01".into(),
            ssh_client: None,
            db_user: None,
            label: "alice".into(),
        };
        assert_eq!(identity.to_string(), "alice@ops-01");
        identity.label = "oncall-lead".into();
        assert_eq!(identity.to_string(), "alice@ops-01 (as oncall-lead)");
    }

    #[test]
    fn the_current_identity_is_the_process_uid_whatever_the_label() {
        let identity = OperatorIdentity::current("not-an-account");
        assert_eq!(identity.uid, nix::unistd::getuid().as_raw());
        assert_eq!(identity.label, "not-an-account");
        assert_ne!(identity.os_user, "not-an-account");
        assert!(!identity.host.is_empty());
        assert_eq!(identity.db_user, None);
    }
}
