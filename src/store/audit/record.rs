//! An audit record as stored, and its hash under each encoding version (see the module
//! documentation of `audit`).

use sha2::{Digest, Sha256};

use super::NewAudit;
use crate::identity::OperatorIdentity;

pub(super) const GENESIS_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";
const HASH_TAG_V1: &str = "ondeck-audit-v1";
const HASH_TAG_V2: &str = "ondeck-audit-v2";
/// The `hash_version` every new record is written with.
const CURRENT_HASH_VERSION: i64 = 2;

/// A row of the `audit` table as stored. The columns from `hash_version` on came with the
/// 0002 migration; records written before it have version 1 and NULL in all of them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct AuditRecord {
    pub(super) seq: i64,
    pub(super) time_ms: i64,
    /// v1: the name the console was configured with; v2: the OS account's name.
    pub(super) operator: String,
    pub(super) action: String,
    pub(super) target: String,
    pub(super) outcome: String,
    pub(super) request_id: String,
    pub(super) detail: String,
    pub(super) prev_hash: String,
    pub(super) hash: String,
    pub(super) hash_version: i64,
    pub(super) uid: Option<i64>,
    pub(super) host: Option<String>,
    pub(super) ssh_client: Option<String>,
    pub(super) db_user: Option<String>,
    pub(super) operator_label: Option<String>,
    pub(super) job_id: Option<String>,
    pub(super) error: Option<String>,
}

impl AuditRecord {
    /// The hash the record's fields give under its `hash_version`; `None` when no encoding
    /// covers the record: an unknown version, or a v1 record carrying fields v1 never had
    /// (added behind ondeck's back, since no v1 hash would notice them).
    pub(super) fn computed_hash(&self) -> Option<String> {
        let canonical = match self.hash_version {
            1 if self.has_v2_fields() => return None,
            1 => serde_json::json!([
                HASH_TAG_V1,
                self.seq,
                self.time_ms,
                self.operator,
                self.action,
                self.target,
                self.outcome,
                self.request_id,
                self.detail,
                self.prev_hash,
            ]),
            2 => serde_json::json!([
                HASH_TAG_V2,
                self.seq,
                self.time_ms,
                self.operator,
                self.uid,
                self.host,
                self.ssh_client,
                self.db_user,
                self.operator_label,
                self.action,
                self.target,
                self.outcome,
                self.request_id,
                self.job_id,
                self.error,
                self.detail,
                self.prev_hash,
            ]),
            _ => return None,
        };
        Some(hex::encode(Sha256::digest(canonical.to_string())))
    }

    fn has_v2_fields(&self) -> bool {
        self.uid.is_some()
            || [
                &self.host,
                &self.ssh_client,
                &self.db_user,
                &self.operator_label,
                &self.job_id,
                &self.error,
            ]
            .iter()
            .any(|field| field.is_some())
    }

    /// The next record after `head`, hashed.
    pub(super) fn next(
        rec: &NewAudit,
        detail: &str,
        time_ms: i64,
        head: (i64, String),
        db_user: Option<String>,
    ) -> AuditRecord {
        let (head_seq, head_hash) = head;
        let identity = &rec.identity;
        let mut record = AuditRecord {
            seq: head_seq + 1,
            time_ms,
            operator: identity.os_user.clone(),
            action: rec.action.clone(),
            target: rec.target.clone(),
            outcome: rec.outcome.as_str().to_owned(),
            request_id: rec.request_id.clone(),
            detail: detail.to_owned(),
            prev_hash: head_hash,
            hash: String::new(),
            hash_version: CURRENT_HASH_VERSION,
            uid: Some(i64::from(identity.uid)),
            host: Some(identity.host.clone()),
            ssh_client: identity.ssh_client.clone(),
            db_user,
            operator_label: Some(identity.label.clone()),
            job_id: rec.job_id.clone(),
            error: rec.error.clone(),
        };
        record.hash = record.computed_hash().unwrap_or_default();
        record
    }

    /// The identity a v2 record holds; v1 records only had a name, kept as `operator`.
    pub(super) fn identity(&self) -> Option<OperatorIdentity> {
        if self.hash_version < 2 {
            return None;
        }
        Some(OperatorIdentity {
            os_user: self.operator.clone(),
            uid: self.uid.and_then(|uid| u32::try_from(uid).ok())?,
            host: self.host.clone().unwrap_or_default(),
            ssh_client: self.ssh_client.clone(),
            db_user: self.db_user.clone(),
            label: self.operator_label.clone().unwrap_or_default(),
        })
    }
}
