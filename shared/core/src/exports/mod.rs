//! Bulk export: a reader's events as files, partitioned by the event's UTC date, made by a job
//! of long work rather than by paging the listing.
//!
//! - [`request`]: what `POST /exports` asks for, checked field by field (a client only ever its
//!   own events);
//! - [`work`]: the export's steps ([`crate::steps`]): each writes one file of one date and
//!   records how far it got, so that no step outgrows a Lambda's limits and a step done again
//!   rewrites the same file;
//! - this module: the formats, an export as readers see it, and [`Exports`], which starts one
//!   and reads it back.
//!
//! The files are written by an [`Encoder`] (the `caliper-export` crate: Parquet and gzipped
//! NDJSON, kept out of every binary that does not export) into a [`FileStore`] (a directory
//! locally, an S3 bucket in AWS).

mod request;
mod work;

pub use request::ExportRequest;
pub use work::{ExportError, Exporter, Progress};

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::identity::Caller;
use crate::model::{JobKind, JobState, NewJob, StoredEvent};
use crate::ports::{JobStore, Queue, StoreError};
use crate::steps::{self, StepMessage};

/// The formats an export is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Apache Parquet: a typed column per field that analytics filter on, and the whole event.
    Parquet,
    /// Gzipped NDJSON: a line per event, as `GET /caliper/events/{id}` returns it.
    Ndjson,
}

impl Format {
    pub const ALL: [Format; 2] = [Format::Parquet, Format::Ndjson];

    /// Its name in a request (`parquet`, `ndjson`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Ndjson => "ndjson",
        }
    }

    /// Its files' extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Ndjson => "ndjson.gz",
        }
    }

    /// Its files' media type, as they are served.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Ndjson => "application/gzip",
        }
    }

    /// The format of a file, by its name.
    pub fn of_file(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|format| name.ends_with(&format!(".{}", format.extension())))
    }
}

/// Writes one file of events in a format (the `caliper-export` crate). Pure and CPU-bound: the
/// exporter runs it off the async threads.
pub trait Encoder: Send + Sync {
    /// One file of `events`, in their order; an error in words.
    fn encode(&self, format: Format, events: &[StoredEvent]) -> Result<Vec<u8>, String>;
}

/// Where export files are kept: under a directory locally, in the stack's S3 bucket in AWS. Paths
/// are `{export id}/{file name}`.
#[async_trait]
pub trait FileStore: Send + Sync {
    /// Keeps `bytes` at `path`, replacing what was there (a step delivered again writes its file
    /// again): once this returns, the file is durable.
    async fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), StoreError>;

    /// The file at `path`, when it is served through the API (locally); none when it is not kept.
    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Where a reader fetches the file without the API: a time-limited URL (S3); none when the
    /// API serves it (`GET /exports/{id}/files/{name}`, with the reader's credentials).
    async fn link(&self, path: &str) -> Result<Option<String>, StoreError>;
}

/// The file store of a binary that keeps no export files: every call fails, saying so.
pub struct NoFiles;

#[async_trait]
impl FileStore for NoFiles {
    async fn put(&self, _path: &str, _bytes: Vec<u8>) -> Result<(), StoreError> {
        Err(StoreError::new("this function keeps no export files"))
    }

    async fn get(&self, _path: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(StoreError::new("this function keeps no export files"))
    }

    async fn link(&self, _path: &str) -> Result<Option<String>, StoreError> {
        Err(StoreError::new("this function keeps no export files"))
    }
}

/// One file of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportFile {
    /// `dt=YYYY-MM-DD/part-NNNNN.<extension>`.
    pub name: String,
    pub events: u64,
    pub bytes: u64,
}

impl ExportFile {
    /// Where the file store keeps it.
    pub fn path(&self, export_id: &str) -> String {
        file_path(export_id, &self.name)
    }
}

/// Where the file store keeps the file `name` of the export `export_id`.
pub fn file_path(export_id: &str, name: &str) -> String {
    format!("{export_id}/{name}")
}

/// The name of a date's `part`-th file: `dt=YYYY-MM-DD/part-NNNNN.<extension>`, as Athena, Glue,
/// Spark and DuckDB read partitions.
pub fn part_name(date: &str, part: u32, format: Format) -> String {
    format!("dt={date}/part-{part:05}.{}", format.extension())
}

/// Whether `name` is a file name an export could have: `dt=` a date, `/part-` five digits and a
/// format's extension (and so never a path out of its export's directory).
pub fn is_file_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("dt=") else {
        return false;
    };
    let Some((date, file)) = rest.split_once("/part-") else {
        return false;
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let date_ok = date.len() == 10
        && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok()
        && digits(&date.replace('-', ""));
    date_ok
        && Format::ALL.into_iter().any(|format| {
            file.strip_suffix(&format!(".{}", format.extension()))
                .is_some_and(|number| number.len() == 5 && digits(number))
        })
}

/// An export as its reader sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub id: String,
    pub state: JobState,
    pub request: ExportRequest,
    /// Events written so far (all of them once completed).
    pub events: u64,
    /// Files written so far, in the order written (date by date).
    pub files: Vec<ExportFile>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub failed_reason: Option<String>,
}

/// Starts exports and reads them back; the [`Exporter`] does the work.
#[derive(Clone)]
pub struct Exports {
    jobs: Arc<dyn JobStore>,
    queue: Arc<dyn Queue<StepMessage>>,
    files: Arc<dyn FileStore>,
}

impl Exports {
    pub fn new(
        jobs: Arc<dyn JobStore>,
        queue: Arc<dyn Queue<StepMessage>>,
        files: Arc<dyn FileStore>,
    ) -> Self {
        Self { jobs, queue, files }
    }

    /// Records the export as a job of the caller's and queues its first step.
    pub async fn start(
        &self,
        caller: &Caller,
        request: ExportRequest,
    ) -> Result<Export, StoreError> {
        let now = Utc::now();
        let job = NewJob {
            id: uuid::Uuid::new_v4().to_string(),
            kind: JobKind::Export,
            client_app_id: caller.client_id.clone(),
            parts: 1,
            created_at: now,
        };
        steps::start(&*self.jobs, &*self.queue, &job, &Progress::start(&request)).await?;
        Ok(Export {
            id: job.id,
            state: JobState::Waiting,
            request,
            events: 0,
            files: Vec::new(),
            created_at: now,
            completed_at: None,
            failed_reason: None,
        })
    }

    /// The caller's export `id` (an admin's: any); none for another client's, exactly as for one
    /// that does not exist.
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Option<Export>, StoreError> {
        let Some(job) = self.jobs.get(id).await? else {
            return Ok(None);
        };
        if job.kind != JobKind::Export || !caller.may_see(&job.client_app_id) {
            return Ok(None);
        }
        let progress = match &job.outcome {
            Some(outcome) => from_value::<Progress>(outcome),
            None => steps::state_of::<Progress>(&job),
        };
        let Some(progress) = progress else {
            return Err(StoreError::corrupt(format!(
                "the export {id} has no readable progress"
            )));
        };
        Ok(Some(Export {
            id: job.id,
            state: job.state,
            request: progress.request,
            events: progress.events,
            files: progress.files,
            created_at: job.created_at,
            completed_at: job.processed_on,
            failed_reason: job.failed_reason,
        }))
    }

    /// Where a reader fetches a file: a time-limited URL, or none when the API serves it.
    pub async fn link(
        &self,
        export: &Export,
        file: &ExportFile,
    ) -> Result<Option<String>, StoreError> {
        self.files.link(&file.path(&export.id)).await
    }

    /// A file of the caller's export, served through the API; none when there is no such file.
    pub async fn file(
        &self,
        caller: &Caller,
        id: &str,
        name: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if !is_file_name(name) {
            return Ok(None);
        }
        let Some(export) = self.get(caller, id).await? else {
            return Ok(None);
        };
        if !export.files.iter().any(|file| file.name == name) {
            return Ok(None);
        }
        self.files.get(&file_path(id, name)).await
    }
}

/// Reads a stored document back leniently: `None` when it does not parse.
fn from_value<T: for<'de> Deserialize<'de>>(value: &Value) -> Option<T> {
    serde_json::from_value(value.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_files_own_names_are_file_names() {
        assert_eq!(
            part_name("2024-05-01", 7, Format::Parquet),
            "dt=2024-05-01/part-00007.parquet"
        );
        for good in [
            "dt=2024-05-01/part-00007.parquet",
            "dt=2024-05-01/part-00000.ndjson.gz",
        ] {
            assert!(is_file_name(good), "{good}");
        }
        for bad in [
            "dt=2024-05-01/part-0007.parquet",
            "dt=2024-13-01/part-00007.parquet",
            "dt=2024-05-01/part-00007.csv",
            "dt=2024-05-01/../part-00007.parquet",
            "dt=../../etc/part-00007.parquet",
            "x/dt=2024-05-01/part-00007.parquet",
            "dt=2024-05-01/part-00007.parquet/x",
            "dt=+2024-5-1/part-00007.parquet",
        ] {
            assert!(!is_file_name(bad), "{bad}");
        }
        assert_eq!(
            Format::of_file("dt=2024-05-01/part-00000.ndjson.gz"),
            Some(Format::Ndjson)
        );
    }
}
