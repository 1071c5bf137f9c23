//! One storage conformance suite, run against every adapter: the embedded store and DynamoDB (moto).
//! Each case states a promise of the JobStore/EventStore ports that the domain relies on.

use std::collections::HashSet;

use caliper_core::{EventKey, EventResult, InsertOutcome, JobState, NewJob, Ports, StoredEvent};
use caliper_tests::{event_id, tool_use_event};
use chrono::Utc;

fn new_job(parts: u32) -> NewJob {
    NewJob {
        id: uuid::Uuid::new_v4().to_string(),
        kind: caliper_core::JobKind::Submission,
        client_app_id: "client-a".into(),
        parts,
        created_at: Utc::now(),
    }
}

fn result(n: u64) -> EventResult {
    EventResult::stored(n, format!("urn:uuid:00000000-0000-4000-8000-{n:012}"))
}

fn stored(external_id: &str, id: u64) -> StoredEvent {
    stored_of("client-a", external_id, id)
}

fn stored_of(client: &str, external_id: &str, id: u64) -> StoredEvent {
    StoredEvent::from_event(
        &tool_use_event(external_id),
        id,
        "https://example.edu/sensors/1",
        "2024-05-01T12:00:00.000Z",
        caliper_validation::CALIPER_V1P2,
        client,
        Utc::now(),
    )
}

/// The job of `id`, which must exist.
async fn stored_job(ports: &Ports, id: &str) -> caliper_core::Job {
    ports
        .jobs
        .get(id)
        .await
        .expect("get")
        .expect("the job exists")
}

fn key(external_id: &str) -> EventKey {
    EventKey::new("client-a", external_id)
}

pub async fn a_new_job_waits(ports: Ports) {
    let job = new_job(1);
    ports.jobs.create(&job).await.expect("create");
    let read = ports
        .jobs
        .get(&job.id)
        .await
        .expect("get")
        .expect("the job exists");
    assert_eq!(
        (read.state, read.parts, read.client_app_id.as_str()),
        (JobState::Waiting, 1, "client-a")
    );
    assert_eq!(
        (read.results.len(), read.processed_on, read.failed_reason),
        (0, None, None)
    );
    assert_eq!(
        read.created_at.timestamp_millis(),
        job.created_at.timestamp_millis()
    );
    assert!(ports
        .jobs
        .get(&uuid::Uuid::new_v4().to_string())
        .await
        .expect("get")
        .is_none());
}

pub async fn parts_complete_once_in_part_order(ports: Ports) {
    let job = new_job(3);
    ports.jobs.create(&job).await.expect("create");
    ports.jobs.mark_active(&job.id).await.expect("active");
    assert_eq!(
        ports.jobs.get(&job.id).await.expect("get").map(|j| j.state),
        Some(JobState::Active)
    );
    let now = Utc::now();
    assert_eq!(
        ports
            .jobs
            .complete_part(&job.id, 2, job.parts, &[result(5), result(6)], now)
            .await
            .expect("part 2"),
        JobState::Active
    );
    assert_eq!(
        ports
            .jobs
            .complete_part(&job.id, 0, job.parts, &[result(1)], now)
            .await
            .expect("part 0"),
        JobState::Active
    );
    // A redelivered part keeps its first results and does not count twice.
    assert_eq!(
        ports
            .jobs
            .complete_part(&job.id, 0, job.parts, &[result(99)], now)
            .await
            .expect("part 0 again"),
        JobState::Active
    );
    assert_eq!(
        ports
            .jobs
            .complete_part(&job.id, 1, job.parts, &[result(3)], now)
            .await
            .expect("part 1"),
        JobState::Completed
    );
    let read = ports.jobs.get(&job.id).await.expect("get").expect("exists");
    assert_eq!(read.state, JobState::Completed);
    assert_eq!(
        read.results,
        vec![result(1), result(3), result(5), result(6)]
    );
    assert!(read.processed_on.is_some());
    // Completed is final.
    ports.jobs.mark_active(&job.id).await.expect("active again");
    ports
        .jobs
        .mark_failed(&job.id, "too late", Utc::now())
        .await
        .expect("fail");
    assert_eq!(
        ports.jobs.get(&job.id).await.expect("get").map(|j| j.state),
        Some(JobState::Completed)
    );
}

pub async fn a_one_part_job_completes_from_waiting_and_keeps_its_first_results(ports: Ports) {
    let job = new_job(1);
    ports.jobs.create(&job).await.expect("create");
    let now = Utc::now();
    let state = ports
        .jobs
        .complete_part(&job.id, 0, job.parts, &[result(1), result(2)], now)
        .await
        .expect("part 0");
    assert_eq!(state, JobState::Completed);
    // Delivered again (after an activation, as a redelivery does): nothing changes.
    ports.jobs.mark_active(&job.id).await.expect("active");
    let again = ports
        .jobs
        .complete_part(&job.id, 0, job.parts, &[result(9)], Utc::now())
        .await
        .expect("part 0 again");
    assert_eq!(again, JobState::Completed);
    let read = ports.jobs.get(&job.id).await.expect("get").expect("exists");
    assert_eq!(
        (read.state, read.results, read.processed_on.is_some()),
        (JobState::Completed, vec![result(1), result(2)], true)
    );
    // A failed one-part job stays failed when its part comes after.
    let failed = new_job(1);
    ports.jobs.create(&failed).await.expect("create");
    ports
        .jobs
        .mark_failed(&failed.id, "given up", Utc::now())
        .await
        .expect("fail");
    let state = ports
        .jobs
        .complete_part(&failed.id, 0, failed.parts, &[result(3)], Utc::now())
        .await
        .expect("late part");
    assert_eq!(state, JobState::Failed);
}

pub async fn failed_is_final_and_says_why(ports: Ports) {
    let job = new_job(2);
    ports.jobs.create(&job).await.expect("create");
    ports
        .jobs
        .mark_failed(&job.id, "part 1 of 2 could not be stored", Utc::now())
        .await
        .expect("fail");
    let state = ports
        .jobs
        .complete_part(&job.id, 0, job.parts, &[result(1)], Utc::now())
        .await
        .expect("part 0");
    let state = if state == JobState::Failed {
        ports
            .jobs
            .complete_part(&job.id, 1, job.parts, &[result(2)], Utc::now())
            .await
            .expect("part 1")
    } else {
        state
    };
    assert_eq!(state, JobState::Failed);
    // The dead-letter queue's record of the same part comes after: the first reason stays.
    ports
        .jobs
        .mark_failed(&job.id, "dead-lettered", Utc::now())
        .await
        .expect("fail again");
    let read = ports.jobs.get(&job.id).await.expect("get").expect("exists");
    assert_eq!(
        read.failed_reason.as_deref(),
        Some("part 1 of 2 could not be stored")
    );
    assert!(read.processed_on.is_some());
}

pub async fn ids_are_allocated_in_disjoint_increasing_ranges(ports: Ports) {
    let first = ports.events.allocate_ids(3).await.expect("allocate");
    let second = ports.events.allocate_ids(2).await.expect("allocate");
    assert!(first >= 1);
    assert_eq!(second, first + 3);
    // Callers that take turns (two handles on one store, as two processors): each gets a range
    // of its own. One after another, not at once: moto's counter loses updates made
    // concurrently (DynamoDB's `ADD` does not), so concurrency is tested on the embedded store
    // below, whose counter is ours.
    let callers = [ports.events.clone(), ports.events.clone()];
    let mut starts = Vec::new();
    for turn in 0..16 {
        starts.push(callers[turn % 2].allocate_ids(5).await.expect("allocate"));
    }
    assert_disjoint(&starts, 5, second + 2);
}

/// Ranges of `count` ids from each of `starts`: no id twice, none below `least`.
fn assert_disjoint(starts: &[u64], count: u64, least: u64) {
    let mut seen = HashSet::new();
    for start in starts {
        for id in *start..start + count {
            assert!(seen.insert(id), "id {id} was allocated twice");
            assert!(id >= least, "id {id} is below {least}");
        }
    }
    assert_eq!(seen.len() as u64, starts.len() as u64 * count);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_allocations_on_the_embedded_store_are_disjoint() {
    let (ports, _queue, _dir) = caliper_tests::embedded_world();
    let first = ports.events.allocate_ids(1).await.expect("allocate");
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let events = ports.events.clone();
            tokio::spawn(async move { events.allocate_ids(5).await })
        })
        .collect();
    let mut starts = Vec::new();
    for handle in handles {
        starts.push(handle.await.expect("task").expect("allocate"));
    }
    assert_disjoint(&starts, 5, first + 1);
}

pub async fn each_event_is_stored_once(ports: Ports) {
    let (a, b) = (event_id(), event_id());
    assert!(ports
        .events
        .find_ids("client-a", &[a.clone(), b.clone()])
        .await
        .expect("find")
        .is_empty());
    let outcomes = ports
        .events
        .insert_new(&[stored(&a, 10), stored(&b, 11)])
        .await
        .expect("insert");
    assert_eq!(
        outcomes,
        vec![InsertOutcome::Inserted, InsertOutcome::Inserted]
    );
    let again = ports
        .events
        .insert_new(&[stored(&b, 20), stored(&a, 21)])
        .await
        .expect("insert again");
    assert_eq!(
        again,
        vec![InsertOutcome::Exists(11), InsertOutcome::Exists(10)]
    );
    let found = ports
        .events
        .find_ids("client-a", &[a.clone(), b.clone(), a.clone(), event_id()])
        .await
        .expect("find");
    assert_eq!(
        (found.get(&a), found.get(&b), found.len()),
        (Some(&10), Some(&11), 2)
    );
    let read = ports
        .events
        .get(&key(&a))
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        read,
        ports
            .events
            .get(&key(&a))
            .await
            .expect("get")
            .expect("stored")
    );
    assert_eq!(
        (
            read.id,
            read.external_id.as_str(),
            read.client_app_id.as_str()
        ),
        (10, a.as_str(), "client-a")
    );
    assert_eq!(read.actor, tool_use_event(&a)["actor"]);
    assert!(ports
        .events
        .get(&key(&event_id()))
        .await
        .expect("get")
        .is_none());
}

pub async fn a_caliper_id_is_its_clients_own(ports: Ports) {
    let (shared, theirs) = (event_id(), event_id());
    let outcomes = ports
        .events
        .insert_new(&[
            stored_of("client-b", &shared, 1),
            stored_of("client-b", &theirs, 2),
        ])
        .await
        .expect("insert b");
    assert_eq!(outcomes, [InsertOutcome::Inserted, InsertOutcome::Inserted]);
    assert!(
        ports
            .events
            .find_ids("client-a", &[shared.clone(), theirs.clone()])
            .await
            .expect("find")
            .is_empty(),
        "another client's ids are not found"
    );
    let outcomes = ports
        .events
        .insert_new(&[stored_of("client-a", &shared, 3)])
        .await
        .expect("insert a");
    assert_eq!(outcomes, [InsertOutcome::Inserted], "a's event is its own");
    let a = ports
        .events
        .get(&key(&shared))
        .await
        .expect("get")
        .expect("a's");
    let b = ports
        .events
        .get(&EventKey::new("client-b", &shared))
        .await
        .expect("get")
        .expect("b's");
    assert_eq!((a.id, b.id), (3, 1));
    assert_eq!(
        ports.events.holders(&shared).await.expect("holders"),
        ["client-a", "client-b"]
    );
    assert_eq!(
        ports.events.holders(&theirs).await.expect("holders"),
        ["client-b"]
    );
    assert!(ports
        .events
        .holders(&event_id())
        .await
        .expect("holders")
        .is_empty());
    assert!(ports
        .events
        .get(&key(&theirs))
        .await
        .expect("get")
        .is_none());
    let keys = [
        key(&shared),
        EventKey::new("client-b", &shared),
        key(&theirs),
    ];
    let found = ports.events.get_many(&keys).await.expect("get_many");
    assert_eq!(
        (
            found.len(),
            found.get(&keys[0]).map(|e| e.id),
            found.get(&keys[1]).map(|e| e.id)
        ),
        (2, Some(3), Some(1))
    );
}

pub async fn racing_inserts_store_one(ports: Ports) {
    let id = event_id();
    let handles: Vec<_> = (0..8u64)
        .map(|n| {
            let events = ports.events.clone();
            let event = stored(&id, 100 + n);
            tokio::spawn(async move { events.insert_new(&[event]).await })
        })
        .collect();
    let mut inserted = 0;
    let mut existing = HashSet::new();
    for handle in handles {
        match &handle.await.expect("task").expect("insert")[0] {
            InsertOutcome::Inserted => inserted += 1,
            InsertOutcome::Exists(n) => {
                existing.insert(*n);
            }
            other => panic!("a new event was not stored: {other:?}"),
        }
    }
    let winner = ports
        .events
        .get(&key(&id))
        .await
        .expect("get")
        .expect("stored")
        .id;
    assert_eq!(inserted, 1);
    assert!(
        existing.iter().all(|n| *n == winner),
        "losers saw {existing:?}, the stored id is {winner}"
    );
}

pub async fn many_ids_are_found_at_once(ports: Ports) {
    // More than one BatchGetItem page (100 keys).
    let ids: Vec<String> = (0..150).map(|_| event_id()).collect();
    let events: Vec<StoredEvent> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| stored(id, n as u64 + 1))
        .collect();
    ports.events.insert_new(&events).await.expect("insert");
    let found = ports.events.find_ids("client-a", &ids).await.expect("find");
    assert_eq!(found.len(), 150);
    assert!(ids
        .iter()
        .enumerate()
        .all(|(n, id)| found.get(id) == Some(&(n as u64 + 1))));
}

pub async fn records_are_kept_by_kind_and_id(ports: Ports) {
    use caliper_core::RecordKind::{Filter, Webhook};
    let store = &ports.records;
    assert_eq!(store.get(Webhook, "w1").await.expect("get"), None);
    assert!(store.list(Webhook).await.expect("list").is_empty());
    // Enough records that DynamoDB answers a listing in more than one page (1 MB each).
    let big = "x".repeat(100_000);
    for n in 0..15 {
        let document = format!(r#"{{"n":{n},"pad":"{big}"}}"#);
        store
            .put(Webhook, &format!("w{n}"), &document)
            .await
            .expect("put");
    }
    store
        .put(Filter, "w1", r#"{"filter":true}"#)
        .await
        .expect("put filter");
    store
        .put(Webhook, "w1", r#"{"n":"replaced"}"#)
        .await
        .expect("replace");

    assert_eq!(
        store.get(Webhook, "w1").await.expect("get").as_deref(),
        Some(r#"{"n":"replaced"}"#)
    );
    assert_eq!(
        store.get(Filter, "w1").await.expect("get").as_deref(),
        Some(r#"{"filter":true}"#),
        "kinds are apart"
    );
    assert_eq!(store.get(Filter, "w2").await.expect("get"), None);
    let webhooks = store.list(Webhook).await.expect("list");
    assert_eq!(webhooks.len(), 15);
    assert_eq!(
        webhooks.iter().filter(|d| d.contains("replaced")).count(),
        1
    );
    assert_eq!(
        store.list(Filter).await.expect("list"),
        vec![r#"{"filter":true}"#.to_owned()]
    );
}

pub async fn many_events_are_read_at_once(ports: Ports) {
    // More than one BatchGetItem (100 keys) and a repeated id; one id never stored.
    let ids: Vec<String> = (0..150).map(|_| event_id()).collect();
    let first = ports.events.allocate_ids(150).await.expect("allocate");
    let stored: Vec<StoredEvent> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            StoredEvent::from_event(
                &tool_use_event(id),
                first + n as u64,
                "https://example.edu/sensors/1",
                "2024-05-01T12:00:00.000Z",
                caliper_validation::CALIPER_V1P2,
                "client",
                Utc::now(),
            )
        })
        .collect();
    ports.events.insert_new(&stored).await.expect("insert");
    let mut asked: Vec<EventKey> = ids.iter().map(|id| EventKey::new("client", id)).collect();
    asked.push(asked[0].clone());
    asked.push(EventKey::new("client", event_id()));
    let found = ports.events.get_many(&asked).await.expect("get_many");
    assert_eq!(found.len(), 150);
    for event in &stored {
        assert_eq!(found.get(&event.key()), Some(event));
    }
    assert!(ports
        .events
        .get_many(&[])
        .await
        .expect("none asked")
        .is_empty());
}

/// An event the store cannot keep (over DynamoDB's 400 KB item, even compressed) is refused alone,
/// saying why; the others of the batch are stored, and nothing fails.
pub async fn an_event_the_store_cannot_keep_is_refused_alone(ports: Ports) {
    let ids: Vec<String> = (0..3).map(|_| event_id()).collect();
    let first = ports.events.allocate_ids(3).await.expect("allocate");
    let mut events: Vec<StoredEvent> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| stored(id, first + n as u64))
        .collect();
    // About 1 MB of random hex: more than half of it is left after compression.
    let noise: String = (0..31_000)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    events[1].extensions = Some(serde_json::json!({ "noise": noise }));
    let outcomes = ports.events.insert_new(&events).await.expect("insert");
    assert_eq!(
        (&outcomes[0], &outcomes[2]),
        (&InsertOutcome::Inserted, &InsertOutcome::Inserted)
    );
    match &outcomes[1] {
        // The embedded store has no item limit.
        InsertOutcome::Inserted => {}
        InsertOutcome::Refused(why) => {
            assert!(why.contains("cannot be stored as it is"), "{why}");
            assert_eq!(ports.events.get(&key(&ids[1])).await.expect("get"), None);
        }
        other => panic!("{other:?}"),
    }
    for id in [&ids[0], &ids[2]] {
        assert!(ports.events.get(&key(id)).await.expect("get").is_some());
    }
}

/// A deleted event is gone from every read (by key, by id, listing, count, holders), and its
/// tombstone keeps a message delivered again from storing it anew; another client's event of the
/// same Caliper id stays.
pub async fn a_deleted_event_is_gone_and_stays_gone(ports: Ports) {
    let (gone, kept) = (event_id(), event_id());
    let first = ports.events.allocate_ids(3).await.expect("allocate");
    let events = vec![
        stored(&gone, first),
        stored(&kept, first + 1),
        stored_of("client-b", &gone, first + 2),
    ];
    ports.events.insert_new(&events).await.expect("insert");
    let deleted = ports
        .events
        .delete(&[key(&gone), key(&event_id())])
        .await
        .expect("delete");
    assert_eq!(deleted, 1, "one of the two was stored");
    assert_eq!(ports.events.get(&key(&gone)).await.expect("get"), None);
    let many = ports
        .events
        .get_many(&[key(&gone), key(&kept)])
        .await
        .expect("get_many");
    assert_eq!(many.keys().collect::<Vec<_>>(), vec![&key(&kept)]);
    let ids = ports
        .events
        .find_ids("client-a", &[gone.clone(), kept.clone()])
        .await
        .expect("find");
    assert_eq!(ids.keys().collect::<Vec<_>>(), vec![&kept]);
    assert_eq!(
        ports.events.holders(&gone).await.expect("holders"),
        vec!["client-b".to_owned()]
    );
    let query = caliper_core::EventQuery {
        visibility: caliper_core::Visibility::Own("client-a".into()),
        filter: Default::default(),
        order: caliper_core::Order::NewestFirst,
    };
    let page = ports
        .reader
        .list(&query, &caliper_core::Start::Offset(0), 10)
        .await
        .expect("list");
    let listed: Vec<&str> = page.events.iter().map(|e| e.external_id.as_str()).collect();
    assert_eq!(listed, vec![kept.as_str()]);
    assert_eq!(ports.reader.count(&query).await.expect("count"), 1);

    // The message that stored it, delivered again: the tombstone answers.
    let again = ports
        .events
        .insert_new(&[stored(&gone, first + 10)])
        .await
        .expect("insert again");
    assert_eq!(again, vec![InsertOutcome::Erased]);
    assert_eq!(ports.events.get(&key(&gone)).await.expect("get"), None);
    assert_eq!(
        ports.events.delete(&[key(&gone)]).await.expect("again"),
        0,
        "deleting again deletes nothing"
    );
}

/// A purged event is gone with every index entry and leaves nothing: sent again, it is new. A
/// tombstone under a key stays.
pub async fn a_purged_event_is_gone_and_leaves_no_tombstone(ports: Ports) {
    let (purged, erased) = (event_id(), event_id());
    let first = ports.events.allocate_ids(2).await.expect("ids");
    ports
        .events
        .insert_new(&[stored(&purged, first), stored(&erased, first + 1)])
        .await
        .expect("insert");
    assert_eq!(
        ports.events.delete(&[key(&erased)]).await.expect("delete"),
        1
    );
    let keys = [key(&purged), key(&erased), key(&event_id())];
    assert_eq!(ports.events.purge(&keys).await.expect("purge"), 1);
    assert_eq!(ports.events.purge(&keys).await.expect("again"), 0);
    assert_eq!(ports.events.get(&key(&purged)).await.expect("get"), None);
    let query = caliper_core::EventQuery {
        visibility: caliper_core::Visibility::Own("client-a".into()),
        filter: Default::default(),
        order: caliper_core::Order::NewestFirst,
    };
    assert_eq!(ports.reader.count(&query).await.expect("count"), 0);
    let ids = ports
        .events
        .find_ids("client-a", std::slice::from_ref(&purged))
        .await
        .expect("find");
    assert!(ids.is_empty());
    let again = ports
        .events
        .insert_new(&[stored(&purged, first + 2), stored(&erased, first + 3)])
        .await
        .expect("insert again");
    assert_eq!(again, vec![InsertOutcome::Inserted, InsertOutcome::Erased]);
}

/// A job of long work keeps the last checkpoint saved while it runs, and ends once, with its
/// outcome, dropping the checkpoint: what comes after the end changes nothing.
pub async fn a_job_keeps_its_checkpoint_and_ends_once_with_its_outcome(ports: Ports) {
    use serde_json::json;
    let job = new_job(1);
    ports.jobs.create(&job).await.expect("create");
    for day in ["2024-05-01", "2024-05-02"] {
        ports
            .jobs
            .save_checkpoint(&job.id, &json!({ "day": day }))
            .await
            .expect("checkpoint");
    }
    let read = stored_job(&ports, &job.id).await;
    assert_eq!(
        (read.kind, read.state, read.checkpoint, read.outcome),
        (
            caliper_core::JobKind::Submission,
            JobState::Waiting,
            Some(json!({"day": "2024-05-02"})),
            None
        )
    );
    let ended = ports
        .jobs
        .complete(&job.id, &json!({"events": 3}), Utc::now())
        .await
        .expect("complete");
    assert_eq!(ended, JobState::Completed);
    let again = ports
        .jobs
        .complete(&job.id, &json!({"events": 9}), Utc::now())
        .await
        .expect("complete again");
    assert_eq!(again, JobState::Completed);
    ports
        .jobs
        .save_checkpoint(&job.id, &json!({"day": "2024-05-03"}))
        .await
        .expect("a late checkpoint");
    ports
        .jobs
        .mark_failed(&job.id, "late", Utc::now())
        .await
        .expect("a late failure");
    let read = stored_job(&ports, &job.id).await;
    assert_eq!(
        (
            read.state,
            read.checkpoint,
            read.outcome,
            read.failed_reason
        ),
        (JobState::Completed, None, Some(json!({"events": 3})), None),
        "the first end stays, and the run's checkpoint ends with it"
    );
    // A failure keeps it, to show how far the job got.
    let failed = new_job(1);
    ports.jobs.create(&failed).await.expect("create");
    ports
        .jobs
        .save_checkpoint(&failed.id, &json!({"day": "2024-05-01"}))
        .await
        .expect("checkpoint");
    ports
        .jobs
        .mark_failed(&failed.id, "stopped", Utc::now())
        .await
        .expect("fail");
    let read = stored_job(&ports, &failed.id).await;
    assert_eq!(
        (read.state, read.checkpoint),
        (JobState::Failed, Some(json!({"day": "2024-05-01"})))
    );
    assert!(read.processed_on.is_some());
}

/// Every kind of record, the next one added too, is kept apart from the others under one id.
pub async fn every_record_kind_is_kept_apart(ports: Ports) {
    use caliper_core::RecordKind;
    let id = uuid::Uuid::new_v4().to_string();
    let document = |kind: RecordKind| format!(r#"{{"kind":"{}","id":"{id}"}}"#, kind.as_str());
    for kind in RecordKind::ALL {
        ports
            .records
            .put(kind, &id, &document(kind))
            .await
            .expect("put");
    }
    for kind in RecordKind::ALL {
        let read = ports.records.get(kind, &id).await.expect("get");
        assert_eq!(read, Some(document(kind)), "{kind:?}");
        let listed = ports.records.list(kind).await.expect("list");
        assert!(listed.contains(&document(kind)), "{kind:?}");
        assert!(
            RecordKind::ALL
                .iter()
                .filter(|other| **other != kind)
                .all(|other| !listed.contains(&document(*other))),
            "{kind:?} lists no other kind"
        );
    }
}

/// Quarantined items: kept once by id, up to each client's bound (a removal makes room again), read back by
/// id, listed newest first per client or for all, page after page, and each client's apart.
pub async fn quarantine_keeps_each_clients_items_within_its_bound(ports: Ports) {
    use caliper_core::quarantine::Quarantined;
    use serde_json::json;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (a, b) = (format!("a-{run}"), format!("b-{run}"));
    let item = |client: &str, n: u32| Quarantined {
        id: Quarantined::new_id(),
        client_app_id: client.to_owned(),
        source: "submission".into(),
        received_at: "2024-05-01T12:00:00.000Z".into(),
        reasons: vec![caliper_core::Problem::new(
            "/eventTime",
            format!("item {n}"),
        )],
        body: json!({"n": n}),
        envelope: json!({"sensor": "https://example.edu/s"}),
    };
    let q = &ports.quarantine;
    let mut kept_a = Vec::new();
    for n in 0..3 {
        let it = item(&a, n);
        assert!(
            q.keep(&it, 3).await.expect("keep"),
            "item {n} within the bound"
        );
        kept_a.push(it);
    }
    assert!(
        q.keep(&kept_a[0], 3).await.expect("keep"),
        "kept again (a part delivered again): kept once, and not counted twice"
    );
    let over = item(&a, 3);
    assert!(
        !q.keep(&over, 3).await.expect("keep"),
        "the fourth is over the bound"
    );
    assert_eq!(q.get(&over.id).await.expect("get"), None);
    let of_b = item(&b, 0);
    assert!(
        q.keep(&of_b, 3).await.expect("keep"),
        "another client's bound is its own"
    );

    assert_eq!(
        q.get(&kept_a[1].id).await.expect("get").as_ref(),
        Some(&kept_a[1])
    );
    let newest_first: Vec<String> = kept_a.iter().rev().map(|i| i.id.clone()).collect();
    let page = q.page(Some(&a), None, 2).await.expect("page");
    assert_eq!(
        page.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        newest_first[..2]
    );
    let next = q.page(Some(&a), Some(&page[1].id), 2).await.expect("page");
    assert_eq!(
        next.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
        newest_first[2..]
    );
    let all = q.page(None, None, 1000).await.expect("page");
    let ours: Vec<&str> = all
        .iter()
        .filter(|i| i.client_app_id == a || i.client_app_id == b)
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(
        ours,
        [
            of_b.id.as_str(),
            &newest_first[0],
            &newest_first[1],
            &newest_first[2]
        ]
    );

    assert!(q.remove(&kept_a[0].id).await.expect("remove"));
    assert!(
        !q.remove(&kept_a[0].id).await.expect("remove"),
        "gone already"
    );
    assert_eq!(q.get(&kept_a[0].id).await.expect("get"), None);
    assert!(
        q.keep(&over, 3).await.expect("keep"),
        "a removal makes room"
    );
    let page = q.page(Some(&a), None, 10).await.expect("page");
    assert_eq!(page.len(), 3);
    assert!(page.iter().all(|i| i.client_app_id == a));
}

caliper_tests::on_every_backend!(
    quarantine_keeps_each_clients_items_within_its_bound,
    many_events_are_read_at_once,
    records_are_kept_by_kind_and_id,
    every_record_kind_is_kept_apart,
    an_event_the_store_cannot_keep_is_refused_alone,
    a_deleted_event_is_gone_and_stays_gone,
    a_job_keeps_its_checkpoint_and_ends_once_with_its_outcome,
    a_purged_event_is_gone_and_leaves_no_tombstone,
    a_new_job_waits,
    parts_complete_once_in_part_order,
    a_one_part_job_completes_from_waiting_and_keeps_its_first_results,
    failed_is_final_and_says_why,
    ids_are_allocated_in_disjoint_increasing_ranges,
    each_event_is_stored_once,
    a_caliper_id_is_its_clients_own,
    racing_inserts_store_one,
    many_ids_are_found_at_once,
);
