//! The embedded store's write pattern on two engines, same run: redb (the B-tree the store used
//! until it moved) and fjall (a log-structured merge tree, the store's engine now; in batches, and
//! in the write transactions the store uses), each committing groups of jobs with an fsync.
//!
//! Per job (an envelope of ten events): its submission writes the queued message and the job
//! record; its processing, in a later commit, bumps the id counter, writes each event (zstd, as
//! the store keeps them), its key and eight listing entries, removes the message and records the
//! results. A commit holds one group's processing and the next group's submissions, as the
//! store's writer groups whatever queued up meanwhile.
//!
//!     cargo bench -p caliper-embedded --bench engines [-- EVENTS [JOBS_PER_COMMIT]]
//!
//! Prints events/s, server CPU per event (every thread of the process) and bytes on disk per byte
//! of compact event JSON, with the work of making the writes alone (no engine) as the baseline.

use std::path::Path;
use std::time::Instant;

use redb::{Database, Durability, TableDefinition};

const EVENTS_PER_JOB: usize = 10;
const LISTING_ENTRIES: usize = 8;

const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("stored_events");
const KEYS: TableDefinition<&[u8], u64> = TableDefinition::new("event_keys");
const LISTING: TableDefinition<&[u8], ()> = TableDefinition::new("listing");
const QUEUE: TableDefinition<u64, &[u8]> = TableDefinition::new("queue");
const JOBS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("jobs");
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");

/// One write of the pattern, engine-neutral.
enum Write {
    Event(u64, Vec<u8>),
    Key(Vec<u8>, u64),
    Listing(Vec<u8>),
    Queue(u64, Vec<u8>),
    Unqueue(u64),
    Job(Vec<u8>, Vec<u8>),
    Counter(u64),
}

/// A small deterministic generator.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            a & 0xffff,
            (a >> 16) & 0xfff,
            b & 0xfff,
            b >> 16
        )
    }
}

/// A Caliper event of about a kilobyte, as a learning tool sends one.
fn event(dice: &mut Dice, n: u64) -> String {
    let learner = dice.next() % 5000;
    let course = dice.next() % 40;
    serde_json::json!({
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
        "id": format!("urn:uuid:{}", dice.uuid()),
        "type": "AssessmentItemEvent",
        "actor": {"id": format!("https://example.edu/users/{learner}"), "type": "Person",
                  "extensions": {"email": format!("learner{learner}@example.edu")}},
        "action": "Completed",
        "object": {"id": format!("https://example.edu/courses/{course}/assess/1/items/{}", n % 30),
                   "type": "AssessmentItem", "name": format!("Question {}", n % 30),
                   "isPartOf": {"id": format!("https://example.edu/courses/{course}/assess/1"), "type": "Assessment"}},
        "generated": {"id": format!("https://example.edu/attempts/{}", dice.uuid()), "type": "Response",
                      "extensions": {"value": dice.next() % 100, "correct": dice.next().is_multiple_of(2)}},
        "eventTime": format!("2026-12-0{}T{:02}:{:02}:{:02}.{:03}Z", 1 + n % 7, n % 24, n % 60, (n / 60) % 60, n % 1000),
        "edApp": {"id": "https://example.edu/tool", "type": "SoftwareApplication"},
        "group": {"id": format!("https://example.edu/courses/{course}"), "type": "CourseOffering"},
        "session": {"id": format!("https://example.edu/sessions/{}", dice.uuid()), "type": "Session"}
    })
    .to_string()
}

/// The writes of `jobs` jobs, commit by commit, and the compact JSON bytes of their events.
fn pattern(jobs: usize, per_commit: usize) -> (Vec<Vec<Write>>, u64) {
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let mut json_bytes = 0u64;
    let mut next_id = 1u64;
    let mut commits: Vec<Vec<Write>> = Vec::new();
    let groups: Vec<Vec<usize>> = (0..jobs)
        .collect::<Vec<_>>()
        .chunks(per_commit)
        .map(<[usize]>::to_vec)
        .collect();
    let mut envelopes: Vec<Vec<String>> = Vec::new();
    for g in 0..=groups.len() {
        let mut writes = Vec::new();
        // The previous group's processing.
        if g > 0 {
            for &job in &groups[g - 1] {
                let events = &envelopes[job];
                writes.push(Write::Counter(next_id + EVENTS_PER_JOB as u64));
                let mut results = Vec::new();
                for json in events {
                    json_bytes += json.len() as u64;
                    let id = next_id;
                    next_id += 1;
                    let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
                    let external = value["id"].as_str().unwrap_or_default().to_owned();
                    let actor = value["actor"]["id"].as_str().unwrap_or_default().to_owned();
                    let time = value["eventTime"].as_str().unwrap_or_default().to_owned();
                    let packed = zstd::bulk::compress(json.as_bytes(), 3).unwrap_or_default();
                    writes.push(Write::Event(id, packed));
                    writes.push(Write::Key(
                        format!("client-{}\0{external}", job % 32).into_bytes(),
                        id,
                    ));
                    for index in 0..LISTING_ENTRIES {
                        let key = match index {
                            0 => "all".to_owned(),
                            1 => format!("client-{}", job % 32),
                            2 | 3 => actor.clone(),
                            4 => "https://example.edu/sensors/1".to_owned(),
                            _ => format!("v1p2\0client-{}", job % 32),
                        };
                        writes.push(Write::Listing(
                            format!("{index}\0{key}\0{time}\0{id:020}").into_bytes(),
                        ));
                    }
                    results.push(format!(
                        "{{\"allocatedId\":{id},\"externalId\":\"{external}\"}}"
                    ));
                }
                writes.push(Write::Unqueue(job as u64));
                writes.push(Write::Job(
                    format!("job-{job}").into_bytes(),
                    format!(
                        "{{\"state\":\"completed\",\"results\":[{}]}}",
                        results.join(",")
                    )
                    .into_bytes(),
                ));
            }
        }
        // This group's submissions.
        if let Some(group) = groups.get(g) {
            for &job in group {
                let events: Vec<String> = (0..EVENTS_PER_JOB)
                    .map(|i| event(&mut dice, (job * EVENTS_PER_JOB + i) as u64))
                    .collect();
                let message = format!(
                    "{{\"jobId\":\"job-{job}\",\"events\":[{}]}}",
                    events.join(",")
                );
                writes.push(Write::Queue(job as u64, message.into_bytes()));
                writes.push(Write::Job(
                    format!("job-{job}").into_bytes(),
                    b"{\"state\":\"waiting\"}".to_vec(),
                ));
                envelopes.push(events);
            }
        }
        commits.push(writes);
    }
    (commits, json_bytes)
}

fn redb_run(dir: &Path, commits: &[Vec<Write>]) -> Result<u64, Box<dyn std::error::Error>> {
    let path = dir.join("store.redb");
    let db = Database::create(&path)?;
    for writes in commits {
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut events = txn.open_table(EVENTS)?;
            let mut keys = txn.open_table(KEYS)?;
            let mut listing = txn.open_table(LISTING)?;
            let mut queue = txn.open_table(QUEUE)?;
            let mut jobs = txn.open_table(JOBS)?;
            let mut counters = txn.open_table(COUNTERS)?;
            for write in writes {
                match write {
                    Write::Event(id, doc) => drop(events.insert(id, doc.as_slice())?),
                    Write::Key(key, id) => drop(keys.insert(key.as_slice(), id)?),
                    Write::Listing(key) => drop(listing.insert(key.as_slice(), ())?),
                    Write::Queue(id, message) => drop(queue.insert(id, message.as_slice())?),
                    Write::Unqueue(id) => drop(queue.remove(id)?),
                    Write::Job(id, record) => drop(jobs.insert(id.as_slice(), record.as_slice())?),
                    Write::Counter(last) => drop(counters.insert("event-id", last)?),
                }
            }
        }
        txn.commit()?;
    }
    drop(db);
    Ok(std::fs::metadata(&path)?.len())
}

fn fjall_run(dir: &Path, commits: &[Vec<Write>]) -> Result<u64, Box<dyn std::error::Error>> {
    use fjall::{Database, KeyspaceCreateOptions, PersistMode};
    let db = Database::builder(dir.join("fjall")).open()?;
    let open = |name: &str| db.keyspace(name, KeyspaceCreateOptions::default);
    let (events, keys, listing) = (
        open("stored_events")?,
        open("event_keys")?,
        open("listing")?,
    );
    let (queue, jobs, counters) = (open("queue")?, open("jobs")?, open("counters")?);
    for writes in commits {
        let mut batch = db.batch();
        for write in writes {
            match write {
                Write::Event(id, doc) => batch.insert(&events, id.to_be_bytes(), doc),
                Write::Key(key, id) => batch.insert(&keys, key, id.to_be_bytes()),
                Write::Listing(key) => batch.insert(&listing, key, []),
                Write::Queue(id, message) => batch.insert(&queue, id.to_be_bytes(), message),
                Write::Unqueue(id) => batch.remove(&queue, id.to_be_bytes()),
                Write::Job(id, record) => batch.insert(&jobs, id, record),
                Write::Counter(last) => batch.insert(&counters, "event-id", last.to_be_bytes()),
            }
        }
        batch.commit()?;
        db.persist(PersistMode::SyncAll)?;
    }
    drop((events, keys, listing, queue, jobs, counters));
    drop(db);
    Ok(disk_bytes(&dir.join("fjall")))
}

/// fjall as the store uses it: each commit a write transaction (reads see its own writes,
/// one writer at a time), persisted with an fsync.
fn fjall_tx_run(dir: &Path, commits: &[Vec<Write>]) -> Result<u64, Box<dyn std::error::Error>> {
    use fjall::{KeyspaceCreateOptions, PersistMode, SingleWriterTxDatabase};
    let db = SingleWriterTxDatabase::builder(dir.join("fjall-tx")).open()?;
    let open = |name: &str| db.keyspace(name, KeyspaceCreateOptions::default);
    let (events, keys, listing) = (
        open("stored_events")?,
        open("event_keys")?,
        open("listing")?,
    );
    let (queue, jobs, counters) = (open("queue")?, open("jobs")?, open("counters")?);
    for writes in commits {
        let mut tx = db.write_tx().durability(Some(PersistMode::SyncAll));
        for write in writes {
            match write {
                Write::Event(id, doc) => tx.insert(&events, id.to_be_bytes(), doc.as_slice()),
                Write::Key(key, id) => tx.insert(&keys, key.as_slice(), id.to_be_bytes()),
                Write::Listing(key) => tx.insert(&listing, key.as_slice(), []),
                Write::Queue(id, message) => {
                    tx.insert(&queue, id.to_be_bytes(), message.as_slice())
                }
                Write::Unqueue(id) => tx.remove(&queue, id.to_be_bytes()),
                Write::Job(id, record) => tx.insert(&jobs, id.as_slice(), record.as_slice()),
                Write::Counter(last) => tx.insert(&counters, "event-id", last.to_be_bytes()),
            }
        }
        tx.commit()?;
    }
    drop((events, keys, listing, queue, jobs, counters));
    drop(db);
    Ok(disk_bytes(&dir.join("fjall-tx")))
}

fn disk_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => disk_bytes(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

/// CPU seconds of every thread of this process so far (user and system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let events = args.first().copied().unwrap_or(200_000);
    let per_commit = args.get(1).copied().unwrap_or(32);
    let jobs = events / EVENTS_PER_JOB;

    let (cpu, start) = (cpu_seconds(), Instant::now());
    let (commits, json_bytes) = pattern(jobs, per_commit);
    let made = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let n = (jobs * EVENTS_PER_JOB) as f64;
    println!(
        "{} events in envelopes of {EVENTS_PER_JOB}, {per_commit} jobs a commit (fsync), {:.0} bytes of JSON an event",
        n,
        json_bytes as f64 / n
    );
    println!(
        "  making the writes (baseline): {:>9.0} events/s, {:>5.1} µs CPU an event",
        n / made.0,
        made.1 / n * 1e6
    );
    let mut rates = Vec::new();
    type Run = fn(&Path, &[Vec<Write>]) -> Result<u64, Box<dyn std::error::Error>>;
    for (name, run) in [
        ("redb", redb_run as Run),
        ("fjall", fjall_run as Run),
        ("fjall, transactions", fjall_tx_run as Run),
    ] {
        let dir = tempfile::tempdir()?;
        let (cpu, start) = (cpu_seconds(), Instant::now());
        let bytes = run(dir.path(), &commits)?;
        let (wall, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        rates.push(n / wall);
        println!(
            "  {name:<19} {:>9.0} events/s ({:.2}× the baseline's time), {:>5.1} µs CPU an event, disk {:.2}× the JSON",
            n / wall,
            wall / made.0,
            cpu / n * 1e6,
            bytes as f64 / json_bytes as f64
        );
    }
    println!(
        "  fjall/redb: {:.2}× the events/s; with transactions {:.2}×",
        rates[1] / rates[0],
        rates[2] / rates[0]
    );
    Ok(())
}
