//! Group commit: one thread makes every write, and commits the writes that queued up while the
//! previous commit was on its way to disk in one transaction. One fsync then serves many
//! requests, and each still answers only once its own writes are durable.
//!
//! A piece of work that fails must not take its group's writes down with it, nor leave half of
//! its own writes behind: the group's transaction is dropped (undoing all of it) and each piece
//! runs again in a transaction of its own, so that the failing one answers its error and the
//! others commit as they would have alone.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use caliper_core::StoreError;
use fjall::{PersistMode, SingleWriterTxDatabase};
use tokio::sync::oneshot;

use crate::db::{fail, Spaces, Txn};

/// The most writes one transaction holds: a bound on the work an error makes run twice.
const MOST_IN_ONE_COMMIT: usize = 512;

/// A write waiting for its transaction.
pub(crate) trait Pending: Send {
    /// Makes the writes in `txn`, keeping what they answer.
    fn run(&mut self, txn: &mut Txn) -> Result<(), StoreError>;
    /// Hands back the kept answer, or `error` when the transaction did not commit.
    fn answer(self: Box<Self>, error: Option<StoreError>);
}

struct Work<T, F> {
    work: F,
    outcome: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Pending for Work<T, F>
where
    T: Send,
    F: FnMut(&mut Txn) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, txn: &mut Txn) -> Result<(), StoreError> {
        let outcome = catch_unwind(AssertUnwindSafe(|| (self.work)(txn)))
            .unwrap_or_else(|_| Err(StoreError::new("a write to the embedded store panicked")));
        let failed = outcome.as_ref().err().cloned();
        self.outcome = Some(outcome);
        failed.map_or(Ok(()), Err)
    }

    fn answer(self: Box<Self>, error: Option<StoreError>) {
        let answer = match (error, self.outcome) {
            (Some(error), _) => Err(error),
            (None, Some(outcome)) => outcome,
            (None, None) => Err(StoreError::new("a write was committed without running")),
        };
        // The asker may have gone (a cancelled request): its writes stand all the same.
        let _ = self.reply.send(answer);
    }
}

/// A write of `work`, and where its answer will come.
pub(crate) fn pending<T, F>(work: F) -> (Box<dyn Pending>, oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnMut(&mut Txn) -> Result<T, StoreError> + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    let work = Work {
        work,
        outcome: None,
        reply,
    };
    (Box::new(work), answer)
}

/// Where writes are sent to the writer.
pub(crate) type Writes = mpsc::Sender<Box<dyn Pending>>;

pub(crate) struct Writer;

impl Writer {
    /// Starts the writer thread of `db`; it ends when every sender is gone.
    pub(crate) fn start(
        db: SingleWriterTxDatabase,
        spaces: Arc<Spaces>,
    ) -> std::io::Result<(Writes, JoinHandle<()>)> {
        let (writes, waiting) = mpsc::channel::<Box<dyn Pending>>();
        let thread = std::thread::Builder::new()
            .name("caliper-store-writer".into())
            .spawn(move || {
                while let Ok(first) = waiting.recv() {
                    let mut group = vec![first];
                    while group.len() < MOST_IN_ONE_COMMIT {
                        match waiting.try_recv() {
                            Ok(next) => group.push(next),
                            Err(_) => break,
                        }
                    }
                    commit_group(&db, &spaces, group);
                }
            })?;
        Ok((writes, thread))
    }
}

/// A transaction that is on disk once committed (journal written and fsynced).
fn begin<'a>(db: &'a SingleWriterTxDatabase, spaces: &'a Spaces) -> Txn<'a> {
    Txn {
        tx: db.write_tx().durability(Some(PersistMode::SyncAll)),
        spaces,
    }
}

fn commit_group(db: &SingleWriterTxDatabase, spaces: &Spaces, mut group: Vec<Box<dyn Pending>>) {
    if group.len() == 1 {
        return group
            .into_iter()
            .for_each(|one| commit_alone(db, spaces, one));
    }
    let together = {
        let mut txn = begin(db, spaces);
        group
            .iter_mut()
            .try_for_each(|pending| pending.run(&mut txn))
            .and_then(|()| txn.tx.commit().map_err(fail))
    };
    match together {
        Ok(()) => group.into_iter().for_each(|pending| pending.answer(None)),
        Err(error) => {
            tracing::debug!(%error, writes = group.len(), "a grouped write failed; each runs alone");
            group
                .into_iter()
                .for_each(|one| commit_alone(db, spaces, one));
        }
    }
}

fn commit_alone(db: &SingleWriterTxDatabase, spaces: &Spaces, mut pending: Box<dyn Pending>) {
    let done = {
        let mut txn = begin(db, spaces);
        pending
            .run(&mut txn)
            .and_then(|()| txn.tx.commit().map_err(fail))
    };
    pending.answer(done.err());
}

#[cfg(test)]
mod tests {
    use fjall::Readable;

    use super::*;

    fn open(dir: &std::path::Path) -> (SingleWriterTxDatabase, Spaces) {
        let db = SingleWriterTxDatabase::builder(dir).open().expect("open");
        let spaces = Spaces::open(&db).expect("keyspaces");
        (db, spaces)
    }

    fn get(db: &SingleWriterTxDatabase, spaces: &Spaces, key: u64) -> Option<u64> {
        let value = db
            .read_tx()
            .get(&spaces.counters, key.to_be_bytes())
            .ok()??;
        crate::tuple::u64_value(&value).ok()
    }

    fn put(txn: &mut Txn, key: u64, value: u64) {
        let counters = &txn.spaces.counters;
        txn.tx
            .insert(counters, key.to_be_bytes(), value.to_be_bytes());
    }

    /// A failing write in a group: its half-made writes are undone, the others still commit.
    #[tokio::test]
    async fn a_failing_write_undoes_itself_and_spares_its_group() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (db, spaces) = open(dir.path());
        let write = |key: u64, fails: bool| {
            pending(move |txn: &mut Txn| {
                put(txn, key, key);
                if fails {
                    return Err(StoreError::new("no"));
                }
                Ok(key)
            })
        };
        let (a, a_answer) = write(1, false);
        let (b, b_answer) = write(2, true);
        let (c, c_answer) = write(3, false);
        commit_group(&db, &spaces, vec![a, b, c]);
        assert_eq!(a_answer.await.ok().and_then(Result::ok), Some(1));
        assert!(matches!(b_answer.await, Ok(Err(_))));
        assert_eq!(c_answer.await.ok().and_then(Result::ok), Some(3));
        let stored = |key| get(&db, &spaces, key);
        assert_eq!((stored(1), stored(2), stored(3)), (Some(1), None, Some(3)));
    }

    /// Writes sent while the writer is busy share one transaction and each get their answer.
    #[tokio::test]
    async fn writes_queued_together_commit_together() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (db, spaces) = open(dir.path());
        let (answers, group): (Vec<_>, Vec<_>) = (0..100u64)
            .map(|key| {
                let (work, answer) = pending(move |txn: &mut Txn| {
                    put(txn, key, key * 2);
                    txn.tx.len(&txn.spaces.counters).map_err(fail)
                });
                (answer, work)
            })
            .unzip();
        commit_group(&db, &spaces, group);
        let mut seen = Vec::new();
        for answer in answers {
            seen.push(answer.await.ok().and_then(Result::ok));
        }
        // Each saw the writes before it in the same transaction: one commit held them all.
        assert_eq!(seen, (1..=100).map(Some).collect::<Vec<_>>());
        assert_eq!(get(&db, &spaces, 99), Some(198));
    }
}
