//! An export's steps ([`crate::steps`]): each reads the export's listing, oldest first, from where
//! the last one stopped, up to one date's end or [`Exporter::events_per_file`] events, and writes
//! them as one file of that date, named by the date and its number (so a step done again writes
//! the same file); the step that finds nothing left completes the export.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{part_name, Encoder, ExportFile, ExportRequest, FileStore};
use crate::model::{JobKind, StoredEvent};
use crate::ports::{EventReader, StoreError};
use crate::query::{Position, Start};
use crate::steps::{LongWork, Step};

/// How far an export got: its request, what it wrote, and where the next step begins. Its
/// checkpoint while it runs; its outcome once completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub request: ExportRequest,
    /// The position of the last event written (the listing's, as its key).
    pub after: Option<String>,
    /// The date of the last file written, and how many files that date has.
    pub date: Option<String>,
    pub parts: u32,
    pub events: u64,
    pub files: Vec<ExportFile>,
}

impl Progress {
    pub fn start(request: &ExportRequest) -> Self {
        Self {
            request: request.clone(),
            after: None,
            date: None,
            parts: 0,
            events: 0,
            files: Vec::new(),
        }
    }
}

/// What an export step does.
pub struct Exporter {
    reader: Arc<dyn EventReader>,
    files: Arc<dyn FileStore>,
    encoder: Arc<dyn Encoder>,
    events_per_file: usize,
}

/// Listing pages a step reads.
const PAGE: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the file could not be written: {0}")]
    Encode(String),
}

impl Exporter {
    /// The most events one file holds (and so one step reads): about 100 MB of events in memory.
    pub const EVENTS_PER_FILE: usize = 50_000;

    pub fn new(
        reader: Arc<dyn EventReader>,
        files: Arc<dyn FileStore>,
        encoder: Arc<dyn Encoder>,
    ) -> Self {
        Self {
            reader,
            files,
            encoder,
            events_per_file: Self::EVENTS_PER_FILE,
        }
    }

    /// Files of at most `events` events (tests that want many files of few events).
    pub fn events_per_file(mut self, events: usize) -> Self {
        self.events_per_file = events.max(1);
        self
    }

    /// The next events of one date from `after` on: up to a file's worth.
    async fn next_file(
        &self,
        request: &ExportRequest,
        after: Option<&str>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let query = request.query();
        let mut start = match after.and_then(Position::parse) {
            Some(position) => Start::After(position),
            None => Start::Offset(0),
        };
        let mut events: Vec<StoredEvent> = Vec::new();
        let mut date: Option<String> = None;
        loop {
            let want = (self.events_per_file - events.len()).min(PAGE);
            let page = self.reader.list(&query, &start, want).await?;
            for event in page.events {
                let position = Position::of(&event);
                let day = date_of(&position);
                if date.get_or_insert_with(|| day.clone()) != &day {
                    return Ok(events);
                }
                start = Start::After(position);
                events.push(event);
            }
            if !page.more || events.len() >= self.events_per_file {
                return Ok(events);
            }
        }
    }
}

/// The UTC date of a listing position (its time key begins with it).
fn date_of(position: &Position) -> String {
    position.time.chars().take(10).collect()
}

#[async_trait]
impl LongWork for Exporter {
    type State = Progress;
    type Error = ExportError;
    const KIND: JobKind = JobKind::Export;

    async fn step(&self, id: &str, progress: Progress) -> Result<Step<Progress>, ExportError> {
        let request = &progress.request;
        let events = self.next_file(request, progress.after.as_deref()).await?;
        let Some(last) = events.last() else {
            tracing::info!(export = %id, events = progress.events, files = progress.files.len(), "export written");
            let outcome = serde_json::to_value(&progress)
                .map_err(|e| StoreError::invalid("an export's outcome").caused_by(e))?;
            return Ok(Step::Done(outcome));
        };
        let position = Position::of(last);
        let date = date_of(&position);
        let part = match &progress.date {
            Some(previous) if *previous == date => progress.parts,
            _ => 0,
        };
        let name = part_name(&date, part, request.format);
        let count = events.len() as u64;
        let encoder = self.encoder.clone();
        let format = request.format;
        let bytes = tokio::task::spawn_blocking(move || encoder.encode(format, &events))
            .await
            .map_err(|e| ExportError::Encode(e.to_string()))?
            .map_err(ExportError::Encode)?;
        let file = ExportFile {
            name,
            events: count,
            bytes: bytes.len() as u64,
        };
        self.files.put(&file.path(id), bytes).await?;

        let mut next = progress;
        next.after = Some(position.key());
        next.date = Some(date);
        next.parts = part + 1;
        next.events += count;
        next.files.push(file);
        Ok(Step::Next(next))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;
    use crate::exports::{ExportRequest, Exports, Format};
    use crate::identity::{Caller, Scope};
    use crate::ports::{EventReader, Queue};
    use crate::steps::{StepMessage, Steps};
    use crate::work::Work;
    use chrono::Utc;

    use crate::memory::MemoryJobs;
    use crate::model::JobState;
    use crate::query::{EventPage, EventQuery, Visibility};

    /// The listing of a fixed set of events: the visibility, the time bounds and the order.
    struct Listing(Vec<StoredEvent>);

    #[async_trait]
    impl EventReader for Listing {
        async fn list(
            &self,
            query: &EventQuery,
            start: &Start,
            limit: usize,
        ) -> Result<EventPage, StoreError> {
            let mut matching: Vec<&StoredEvent> = self
                .0
                .iter()
                .filter(|e| match &query.visibility {
                    Visibility::Own(client) => e.client_app_id == *client,
                    Visibility::All => true,
                })
                .filter(|e| {
                    let time = Position::of(e).time;
                    query.filter.from.as_ref().is_none_or(|from| time >= *from)
                        && query
                            .filter
                            .until
                            .as_ref()
                            .is_none_or(|until| time <= *until)
                })
                .collect();
            matching.sort_by_key(|e| Position::of(e));
            let from = match start {
                Start::Offset(n) => *n as usize,
                Start::After(position) => matching
                    .iter()
                    .take_while(|e| Position::of(e) <= *position)
                    .count(),
            };
            let rest = &matching[from.min(matching.len())..];
            Ok(EventPage {
                events: rest.iter().take(limit).map(|e| (*e).clone()).collect(),
                more: rest.len() > limit,
            })
        }

        async fn count(&self, _query: &EventQuery) -> Result<u64, StoreError> {
            Ok(self.0.len() as u64)
        }
    }

    #[derive(Default)]
    struct Queued(Mutex<Vec<StepMessage>>);

    #[async_trait]
    impl Queue<StepMessage> for Queued {
        async fn send(&self, messages: &[StepMessage]) -> Result<(), StoreError> {
            self.0
                .lock()
                .map_err(|_| StoreError::new("poisoned"))?
                .extend_from_slice(messages);
            Ok(())
        }
    }

    #[derive(Default)]
    struct Files(Mutex<BTreeMap<String, Vec<u8>>>);

    #[async_trait]
    impl FileStore for Files {
        async fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
            self.0
                .lock()
                .map_err(|_| StoreError::new("poisoned"))?
                .insert(path.to_owned(), bytes);
            Ok(())
        }
        async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(self
                .0
                .lock()
                .map_err(|_| StoreError::new("poisoned"))?
                .get(path)
                .cloned())
        }
        async fn link(&self, _path: &str) -> Result<Option<String>, StoreError> {
            Ok(None)
        }
    }

    /// A file is its events' Caliper ids, a line each.
    struct Ids;

    impl Encoder for Ids {
        fn encode(&self, _format: Format, events: &[StoredEvent]) -> Result<Vec<u8>, String> {
            Ok(events
                .iter()
                .map(|e| format!("{}\n", e.external_id))
                .collect::<String>()
                .into_bytes())
        }
    }

    fn event(client: &str, n: u64, time: &str) -> StoredEvent {
        let body = json!({"id": format!("urn:uuid:{client}-{n}"), "type": "Event", "action": "Used",
                          "eventTime": time, "actor": "https://example.edu/u", "object": "https://example.edu/o"});
        StoredEvent::from_event(
            &body,
            n,
            "s",
            time,
            "http://purl.imsglobal.org/ctx/caliper/v1p2",
            client,
            Utc::now(),
        )
    }

    struct Fixture {
        jobs: Arc<MemoryJobs>,
        steps: Arc<Queued>,
        files: Arc<Files>,
        exports: Exports,
        exporter: Steps<Exporter>,
    }

    fn fixture(events: Vec<StoredEvent>, per_file: usize) -> Fixture {
        let jobs = Arc::new(MemoryJobs::default());
        let steps = Arc::new(Queued::default());
        let files = Arc::new(Files::default());
        let exports = Exports::new(jobs.clone(), steps.clone(), files.clone());
        let exporter = Steps::new(
            Exporter::new(Arc::new(Listing(events)), files.clone(), Arc::new(Ids))
                .events_per_file(per_file),
            jobs.clone(),
            steps.clone(),
        );
        Fixture {
            jobs,
            steps,
            files,
            exports,
            exporter,
        }
    }

    impl Fixture {
        /// Runs queued steps until none is left; how many ran.
        async fn drain(&self) -> usize {
            let mut ran = 0;
            loop {
                let next = self
                    .steps
                    .0
                    .lock()
                    .ok()
                    .and_then(|mut q| (!q.is_empty()).then(|| q.remove(0)));
                let Some(message) = next else { return ran };
                assert!(
                    self.exporter.run(&message, 1).await.is_ok(),
                    "step {}",
                    message.step
                );
                ran += 1;
            }
        }

        fn file(&self, path: &str) -> String {
            let files = self
                .files
                .0
                .lock()
                .map(|f| f.get(path).cloned())
                .ok()
                .flatten();
            String::from_utf8(files.unwrap_or_default()).unwrap_or_default()
        }
    }

    #[tokio::test]
    async fn an_export_writes_a_file_per_date_and_size_and_only_its_clients_events() {
        let events = vec![
            event("c1", 1, "2024-05-01T10:00:00Z"),
            event("c2", 2, "2024-05-01T10:30:00Z"),
            event("c1", 3, "2024-05-01T23:59:59.999Z"),
            // The 1st in UTC, though its own date is the 2nd.
            event("c1", 4, "2024-05-02T01:00:00+02:00"),
            event("c1", 5, "2024-05-02T00:00:00Z"),
            event("c1", 6, "2024-05-03T00:00:00Z"),
        ];
        let f = fixture(events, 2);
        let client = Caller::new("c1", vec![Scope::EventCreate]);
        let request = ExportRequest::parse(&json!({"format": "ndjson"}), &client)
            .unwrap_or_else(|p| panic!("{p:?}"));
        let export = f
            .exports
            .start(&client, request)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.drain().await, 5);

        let done = f
            .exports
            .get(&client, &export.id)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("the export"));
        assert_eq!(done.state, JobState::Completed);
        assert_eq!(done.events, 5);
        let names: Vec<&str> = done.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "dt=2024-05-01/part-00000.ndjson.gz",
                "dt=2024-05-01/part-00001.ndjson.gz",
                "dt=2024-05-02/part-00000.ndjson.gz",
                "dt=2024-05-03/part-00000.ndjson.gz"
            ]
        );
        assert_eq!(
            f.file(&done.files[0].path(&export.id)),
            "urn:uuid:c1-1\nurn:uuid:c1-4\n"
        );
        assert_eq!(f.file(&done.files[1].path(&export.id)), "urn:uuid:c1-3\n");
        let served = f
            .exports
            .file(&client, &export.id, &done.files[2].name)
            .await
            .ok()
            .flatten();
        assert_eq!(served, Some(b"urn:uuid:c1-5\n".to_vec()));

        // Another client learns nothing of it; an admin sees it.
        let other = Caller::new("c2", vec![Scope::EventCreate]);
        assert_eq!(f.exports.get(&other, &export.id).await.ok().flatten(), None);
        assert_eq!(
            f.exports
                .file(&other, &export.id, &done.files[2].name)
                .await
                .ok()
                .flatten(),
            None
        );
        let admin = Caller::new("a", vec![Scope::Admin]);
        assert!(f
            .exports
            .get(&admin, &export.id)
            .await
            .ok()
            .flatten()
            .is_some());
        // A name the export did not write is no file of it.
        assert_eq!(
            f.exports
                .file(&client, &export.id, "dt=2024-05-04/part-00000.ndjson.gz")
                .await
                .ok()
                .flatten(),
            None
        );
    }

    #[tokio::test]
    async fn a_step_delivered_again_writes_nothing_twice_and_recovers_a_lost_send() {
        let f = fixture(
            vec![
                event("c1", 1, "2024-05-01T10:00:00Z"),
                event("c1", 2, "2024-05-02T10:00:00Z"),
            ],
            10,
        );
        let client = Caller::new("c1", vec![Scope::EventCreate]);
        let request = ExportRequest::parse(&json!({"format": "parquet"}), &client)
            .unwrap_or_else(|p| panic!("{p:?}"));
        let export = f
            .exports
            .start(&client, request)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let first = StepMessage {
            job_id: export.id.clone(),
            step: 0,
        };
        assert!(f.exporter.run(&first, 1).await.is_ok());
        // The next step's message is lost; step 0 comes again and sends it again.
        f.steps.0.lock().map(|mut q| q.clear()).unwrap_or_default();
        assert!(f.exporter.run(&first, 2).await.is_ok());
        let steps = f.steps.0.lock().map(|q| q.clone()).unwrap_or_default();
        assert_eq!(
            steps,
            [StepMessage {
                job_id: export.id.clone(),
                step: 1
            }]
        );
        f.drain().await;
        // A stale step long after changes nothing.
        assert!(f.exporter.run(&first, 3).await.is_ok());
        let done = f
            .exports
            .get(&client, &export.id)
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("the export"));
        assert_eq!(
            (done.state, done.events, done.files.len()),
            (JobState::Completed, 2, 2)
        );
        assert_eq!(f.files.0.lock().map(|f| f.len()).unwrap_or_default(), 2);
        assert_eq!(f.jobs.all().len(), 1);
    }
}
