//! Off-site copies (`copy_to = "s3://bucket/prefix"`): a backup's dump and manifest uploaded
//! after they verify locally, retention applied there by the same rules, and a backup pulled
//! back when its local copy is gone. Any backup kind uses it: it knows dumps and manifests,
//! not what is in them.
//!
//! The S3 protocol (signing, multipart, retries) is `object_store`'s; nothing of it is written
//! here. The layout mirrors the local directory: `PREFIX/FILE` and `PREFIX/FILE.manifest.json`,
//! the manifest uploaded last, so that, as locally, a dump without a manifest is never a
//! backup.
//!
//! What is checked, and by whom:
//! - Upload: the file is read once and hashed as it goes; the upload is completed only when
//!   that sha256 equals the manifest's (a file changed since it was written is never sent as
//!   the backup). Every request carries `x-amz-checksum-sha256` of its body, which the store
//!   checks before it accepts it: for a dump sent in one PUT that is the sha256 of the whole
//!   file, the manifest's; for a multipart upload it is each part's, since S3 keeps only a
//!   checksum of the parts' checksums for the whole object, which is not the file's sha256.
//! - Listing (retention, `ondeck backups`): the dump object exists and has the manifest's size.
//! - Pull and `--verify`: the bytes received are hashed and compared with the manifest before
//!   anything uses them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3Builder, Checksum};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, PutPayload};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::manifest::{self, MANIFEST_SUFFIX, Manifest};
use super::retention::{self, Candidate};
use super::{Listed, Partial};
use crate::actions::engine::JobContext;
use crate::config::{RemoteCopy, Retention};

/// A dump up to this size goes in one PUT, whose checksum the store checks against the whole
/// file; larger ones in parts of this size (S3 wants 5 MiB at least, 10,000 parts at most:
/// 160 GiB).
const PART_SIZE: usize = 16 << 20;
/// A manifest is a few kilobytes; anything far larger under that name is not one.
const MANIFEST_MAX: u64 = 1 << 20;
/// One request, a part of 16 MiB included, on a slow link.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// The bucket and prefix of a `copy_to`, with a client for them.
#[derive(Debug, Clone)]
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// `s3://bucket/prefix`, for messages.
    pub url: String,
}

/// One backup in the remote: its manifest and what is wrong with it, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteBackup {
    pub manifest: Manifest,
    pub problem: Option<String>,
}

/// The remote's backups of one database, newest first, and the objects under its names that
/// are not usable backups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteListing {
    pub backups: Vec<RemoteBackup>,
    pub strays: Vec<(String, String)>,
}

impl Remote {
    /// A client for `copy`, its secrets resolved now (a rotated key is picked up by the next
    /// job). Makes no request.
    pub fn open(copy: &RemoteCopy) -> Result<Remote, String> {
        let access_key_id = copy
            .access_key_id
            .resolve()
            .map_err(|e| format!("s3.access_key_id: {e}"))?;
        let secret_access_key = copy
            .secret_access_key
            .resolve()
            .map_err(|e| format!("s3.secret_access_key: {e}"))?;
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&copy.bucket)
            .with_region(&copy.region)
            .with_access_key_id(access_key_id)
            .with_secret_access_key(secret_access_key)
            .with_checksum_algorithm(Checksum::SHA256)
            .with_client_options(ClientOptions::new().with_timeout(REQUEST_TIMEOUT));
        if let Some(endpoint) = &copy.endpoint {
            // The configuration accepts plain http:// only for a server on this machine.
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(|e| format!("{}: {e}", copy.url))?;
        Ok(Remote {
            store: Arc::new(store),
            prefix: ObjectPath::from(copy.prefix.as_str()),
            url: copy.url.clone(),
        })
    }

    fn object(&self, file: &str) -> ObjectPath {
        self.prefix.child(file)
    }

    /// Where `file` is, for messages: `s3://bucket/prefix/file`.
    pub fn shown(&self, file: &str) -> String {
        format!("{}/{file}", self.url.trim_end_matches('/'))
    }

    /// Uploads `dump` and then its manifest; see the module's documentation for what is checked.
    pub async fn upload(
        &self,
        dump: &Path,
        manifest: &Manifest,
        context: &JobContext<'_>,
    ) -> Result<(), String> {
        let file = tokio::fs::File::open(dump)
            .await
            .map_err(|e| format!("{}: {e}", dump.display()))?;
        let location = self.object(&manifest.file);
        let sha256 = if manifest.size <= PART_SIZE as u64 {
            let (bytes, sha256) = read_part(file, PART_SIZE + 1)
                .await
                .map_err(|e| format!("{}: {e}", dump.display()))?;
            self.check_read(bytes.len() as u64, &sha256, manifest)?;
            self.store
                .put(&location, PutPayload::from(bytes))
                .await
                .map_err(|e| format!("uploading {}: {e}", self.shown(&manifest.file)))?;
            sha256
        } else {
            self.upload_parts(file, &location, manifest, context)
                .await?
        };
        context
            .log(format!(
                "copied {} to {} (sha256 {sha256})",
                manifest.file,
                self.shown(&manifest.file)
            ))
            .await;
        let manifest_name = format!("{}{MANIFEST_SUFFIX}", manifest.file);
        self.store
            .put(
                &self.object(&manifest_name),
                PutPayload::from(manifest.to_json()),
            )
            .await
            .map_err(|e| format!("uploading {}: {e}", self.shown(&manifest_name)))?;
        Ok(())
    }

    /// A multipart upload of `file`, completed only when all of it was read and its sha256 is
    /// the manifest's; aborted otherwise, so that no partial object is left.
    async fn upload_parts(
        &self,
        mut file: tokio::fs::File,
        location: &ObjectPath,
        manifest: &Manifest,
        context: &JobContext<'_>,
    ) -> Result<String, String> {
        let shown = self.shown(&manifest.file);
        let mut upload = self
            .store
            .put_multipart(location)
            .await
            .map_err(|e| format!("starting the upload of {shown}: {e}"))?;
        let mut hasher = Sha256::new();
        let mut sent = 0u64;
        let result = async {
            loop {
                let mut part = vec![0; PART_SIZE];
                let filled = fill(&mut file, &mut part)
                    .await
                    .map_err(|e| format!("reading {}: {e}", manifest.file))?;
                if filled == 0 {
                    break;
                }
                part.truncate(filled);
                hasher.update(&part);
                // One part in flight: memory stays at a part, and the dump's directory is
                // local while the link is the bottleneck.
                upload
                    .put_part(PutPayload::from(part))
                    .await
                    .map_err(|e| format!("uploading a part of {shown}: {e}"))?;
                sent += filled as u64;
                context
                    .progress(0.5 + 0.4 * (sent as f64 / manifest.size.max(1) as f64).min(1.0))
                    .await;
            }
            let sha256 = hex::encode(hasher.finalize());
            self.check_read(sent, &sha256, manifest)?;
            upload
                .complete()
                .await
                .map_err(|e| format!("completing the upload of {shown}: {e}"))?;
            Ok(sha256)
        }
        .await;
        if result.is_err() {
            // The error says what went wrong; an upload the store keeps half-done costs money.
            let _ = upload.abort().await;
        }
        result
    }

    /// The file read for the upload is the one the manifest describes.
    fn check_read(&self, size: u64, sha256: &str, manifest: &Manifest) -> Result<(), String> {
        if size != manifest.size || sha256 != manifest.sha256 {
            return Err(format!(
                "{} changed since it was written ({size} bytes, sha256 {sha256}; its manifest \
                 says {} bytes, {}): not copied to {}",
                manifest.file, manifest.size, manifest.sha256, self.url
            ));
        }
        Ok(())
    }

    /// The backups of `kind` of `database` in the remote, checked by size, newest first.
    pub async fn list(&self, kind: &str, database: &str) -> Result<RemoteListing, String> {
        let mut objects = self.store.list(Some(&self.prefix));
        let mut sizes = std::collections::HashMap::new();
        let mut manifests = Vec::new();
        while let Some(object) = objects.next().await {
            let object = object.map_err(|e| format!("listing {}: {e}", self.url))?;
            let Some(name) = object.location.filename().map(str::to_owned) else {
                continue;
            };
            // Only the prefix's own level: another action's prefix may lie below it.
            if object
                .location
                .prefix_match(&self.prefix)
                .map(Iterator::count)
                != Some(1)
            {
                continue;
            }
            if name.ends_with(MANIFEST_SUFFIX) {
                manifests.push((name, object.size));
            } else {
                sizes.insert(name, object.size);
            }
        }
        let mut listing = RemoteListing::default();
        let mut described = std::collections::HashSet::new();
        let prefix = super::dump_prefix(database);
        for (name, size) in manifests {
            let manifest = if size > MANIFEST_MAX {
                Err(format!("{size} bytes is not a manifest"))
            } else {
                self.fetch_manifest(&name).await
            };
            match manifest {
                Ok(manifest) if manifest.kind == kind && manifest.source.database == database => {
                    described.insert(manifest.file.clone());
                    let problem = match sizes.get(&manifest.file) {
                        None => Some(format!("{} is missing", manifest.file)),
                        Some(&size) if size != manifest.size => Some(format!(
                            "{} has {size} bytes, its manifest says {}",
                            manifest.file, manifest.size
                        )),
                        Some(_) => None,
                    };
                    listing.backups.push(RemoteBackup { manifest, problem });
                }
                Ok(_) => {}
                Err(problem) if name.starts_with(&prefix) => {
                    listing.strays.push((self.shown(&name), problem));
                }
                Err(_) => {}
            }
        }
        for name in sizes.keys() {
            if name.starts_with(&prefix) && !described.contains(name) {
                listing.strays.push((
                    self.shown(name),
                    "no manifest: an upload that never finished, or its manifest was removed; \
                     not restorable"
                        .to_owned(),
                ));
            }
        }
        listing
            .backups
            .sort_by_key(|backup| std::cmp::Reverse(backup.manifest.time));
        listing.strays.sort();
        Ok(listing)
    }

    async fn fetch_manifest(&self, name: &str) -> Result<Manifest, String> {
        let bytes = self
            .store
            .get(&self.object(name))
            .await
            .map_err(|e| format!("unreadable manifest: {e}"))?
            .bytes()
            .await
            .map_err(|e| format!("unreadable manifest: {e}"))?;
        let manifest = Manifest::parse(&bytes)?;
        if format!("{}{MANIFEST_SUFFIX}", manifest.file) != name {
            return Err(format!(
                "the manifest {name} describes {}, not its own dump",
                manifest.file
            ));
        }
        Ok(manifest)
    }

    /// Downloads the backup `manifest` describes into `dir`, the dump hashed as it arrives and
    /// renamed into place only when its size and sha256 are the manifest's; then the manifest.
    /// Refuses when either file is already there: a local copy is never replaced.
    pub async fn pull(&self, manifest: &Manifest, dir: &Path) -> Result<Listed, String> {
        let dump = dir.join(&manifest.file);
        let manifest_path = manifest::manifest_path(&dump);
        let (exists_dump, exists_manifest) = (dump.exists(), manifest_path.exists());
        if exists_dump || exists_manifest {
            return Err(format!(
                "{} is already in {}: a local copy is never replaced by the remote one",
                manifest.file,
                dir.display()
            ));
        }
        let shown = self.shown(&manifest.file);
        let partial = Partial::beside(&dump);
        let temp: PathBuf = partial.path().to_owned();
        let directory = dir.to_owned();
        let file = crate::actions::pg_backup::blocking(move || {
            super::ensure_private_dir(&directory)?;
            super::create_private(&temp)
        })
        .await
        .map_err(|e| format!("creating {}: {e}", partial.path().display()))?;
        let mut file = tokio::fs::File::from_std(file);
        let (size, sha256) = self.stream(&manifest.file, Some(&mut file)).await?;
        if size != manifest.size || sha256 != manifest.sha256 {
            return Err(format!(
                "{shown} has {size} bytes and sha256 {sha256}; its manifest says {} bytes and \
                 {}: not used",
                manifest.size, manifest.sha256
            ));
        }
        file.sync_all()
            .await
            .map_err(|e| format!("fsync of {}: {e}", partial.path().display()))?;
        let json = manifest.to_json();
        let (placed, placed_manifest) = (dump.clone(), manifest_path.clone());
        crate::actions::pg_backup::blocking(move || {
            partial.rename_to(&placed)?;
            super::write_atomically(&placed_manifest, &json)
        })
        .await
        .map_err(|e| format!("putting {} in place: {e}", manifest.file))?;
        Ok(Listed {
            manifest_path,
            manifest: manifest.clone(),
            problem: None,
        })
    }

    /// What is wrong with the remote dump `manifest` describes, re-hashed as it downloads
    /// (nothing is written), if anything.
    pub async fn verify(&self, manifest: &Manifest) -> Option<String> {
        match self.stream(&manifest.file, None).await {
            Ok((size, _)) if size != manifest.size => Some(format!(
                "{} has {size} bytes, its manifest says {}",
                manifest.file, manifest.size
            )),
            Ok((_, sha256)) if sha256 != manifest.sha256 => Some(format!(
                "{} has sha256 {sha256}, its manifest says {}",
                manifest.file, manifest.sha256
            )),
            Ok(_) => None,
            Err(error) => Some(error),
        }
    }

    /// Downloads `file`, into `out` when given; returns its size and sha256.
    async fn stream(
        &self,
        file: &str,
        mut out: Option<&mut tokio::fs::File>,
    ) -> Result<(u64, String), String> {
        let shown = self.shown(file);
        let mut body = self
            .store
            .get(&self.object(file))
            .await
            .map_err(|e| format!("downloading {shown}: {e}"))?
            .into_stream();
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| format!("downloading {shown}: {e}"))?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            if let Some(out) = out.as_mut() {
                out.write_all(&chunk)
                    .await
                    .map_err(|e| format!("writing {file}: {e}"))?;
            }
        }
        Ok((size, hex::encode(hasher.finalize())))
    }

    /// Removes a backup: the dump first, so that a manifest left alone is reported, never
    /// restored.
    async fn remove(&self, manifest: &Manifest) -> Result<(), String> {
        let manifest_name = format!("{}{MANIFEST_SUFFIX}", manifest.file);
        for name in [manifest.file.as_str(), manifest_name.as_str()] {
            self.store
                .delete(&self.object(name))
                .await
                .map_err(|e| format!("removing {}: {e}", self.shown(name)))?;
        }
        Ok(())
    }

    /// Retention in the remote, by the local rules (see [`retention`]): each removal audited
    /// before it is done. Returns the files removed.
    pub async fn apply_retention(
        &self,
        kind: &str,
        database: &str,
        rules: &Retention,
        audit: (&str, &str),
        context: &JobContext<'_>,
    ) -> Result<Vec<String>, String> {
        let (audit_action, by) = audit;
        let listing = self.list(kind, database).await?;
        for (object, problem) in &listing.strays {
            context
                .log(format!(
                    "not a usable backup, left alone: {object}: {problem}"
                ))
                .await;
        }
        let candidates: Vec<Candidate> = listing
            .backups
            .iter()
            .map(|b| Candidate {
                time: b.manifest.time,
                verifies: b.problem.is_none(),
            })
            .collect();
        let decision = retention::decide(&candidates, rules, Utc::now());
        for index in decision.reported {
            let backup = &listing.backups[index];
            context
                .log(format!(
                    "retention in {}: kept {}, which does not verify: {}",
                    self.url,
                    backup.manifest.file,
                    backup.problem.as_deref().unwrap_or_default()
                ))
                .await;
        }
        let mut removed = Vec::new();
        if *rules == Retention::default() {
            return Ok(removed);
        }
        for index in decision.remove {
            let manifest = &listing.backups[index].manifest;
            let detail = json!({
                "by": by,
                "remote": self.url,
                "file": manifest.file,
                "time": manifest.time,
                "size": manifest.size,
                "sha256": manifest.sha256,
            });
            context.audit(audit_action, detail).await.map_err(|error| {
                format!(
                    "{} was not removed: its audit record failed: {error}",
                    self.shown(&manifest.file)
                )
            })?;
            self.remove(manifest).await?;
            context
                .log(format!(
                    "retention: removed {} of {}",
                    self.shown(&manifest.file),
                    manifest.time.format("%Y-%m-%d %H:%M:%SZ")
                ))
                .await;
            removed.push(manifest.file.clone());
        }
        Ok(removed)
    }
}

/// Reads up to `limit` bytes of `file`, hashing them.
async fn read_part(mut file: tokio::fs::File, limit: usize) -> std::io::Result<(Vec<u8>, String)> {
    let mut bytes = Vec::new();
    (&mut file)
        .take(limit as u64)
        .read_to_end(&mut bytes)
        .await?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok((bytes, sha256))
}

/// Fills `buffer` from `file` unless the file ends first; returns how much was read.
async fn fill(file: &mut tokio::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let read = file.read(&mut buffer[filled..]).await?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(filled)
}
