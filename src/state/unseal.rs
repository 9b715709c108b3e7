//! The unseal dialog: one node of an OpenBao source at a time, its seal status as last read,
//! the masked field for the next key share, and what became of the last one.

use crate::actions::Plan;
use crate::actions::unseal::UnsealWork;
use crate::secret_text::MaskedField;
use crate::sources::openbao::SealStatus;

#[derive(Debug)]
pub struct UnsealDialog {
    /// The `unseal` action, by index into [`super::AppState::actions`]: the next sealed node is
    /// planned with it.
    pub action: usize,
    /// The plan for the node shown; its work is [`crate::actions::Work::Unseal`].
    pub plan: Box<Plan>,
    /// The node's seal status as last read, or why it could not be.
    pub status: Option<Result<SealStatus, String>>,
    pub share: MaskedField,
    /// What became of the last share or reset, or what the dialog is waiting for.
    pub message: Option<String>,
    /// A share or reset is on its way: the next waits for its answer.
    pub in_flight: bool,
    /// The operator asked for a reset; Enter confirms it, Esc keeps the attempt.
    pub confirming_reset: bool,
}

impl UnsealDialog {
    pub fn new(action: usize, plan: Box<Plan>) -> UnsealDialog {
        UnsealDialog {
            action,
            plan,
            status: None,
            share: MaskedField::default(),
            message: None,
            in_flight: false,
            confirming_reset: false,
        }
    }

    pub fn work(&self) -> Option<&UnsealWork> {
        match &self.plan.work {
            crate::actions::Work::Unseal(work) => Some(work),
            _ => None,
        }
    }

    /// The node's name, as replies name it.
    pub fn node(&self) -> &str {
        self.work().map_or("", |work| work.node.as_str())
    }

    /// The seal status last read, if it was.
    pub fn seal(&self) -> Option<&SealStatus> {
        self.status.as_ref().and_then(|status| status.as_ref().ok())
    }
}
