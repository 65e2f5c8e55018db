use super::*;
use crate::row;

fn entry(end: u64) -> OffsetEntry {
    OffsetEntry {
        metadata: EpochMetadata::default(),
        sources: vec![Some(serde_json::json!({ "end": end }))],
    }
}

#[test]
fn a_new_checkpoint_starts_at_epoch_zero_and_keeps_its_id() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let id = {
        let checkpoint = Checkpoint::open(dir.path(), "f1", 100, 2).expect("open");
        let recovery = checkpoint.recovery().expect("recovery");
        assert_eq!(recovery.next_epoch, 0);
        assert!(recovery.replay.is_none() && recovery.last_committed.is_none());
        checkpoint.id()
    };
    let again = Checkpoint::open(dir.path(), "f1", 100, 2).expect("reopen");
    assert_eq!(again.id(), id);
}

#[test]
fn an_epoch_with_offsets_but_no_commit_is_replayed_with_its_offsets() {
    let dir = tempfile::tempdir().expect("temporary directory");
    {
        let checkpoint = Checkpoint::open(dir.path(), "f", 100, 2).expect("open");
        checkpoint.write_offsets(0, &entry(3)).expect("offsets 0");
        checkpoint.commit(0, &CommitEntry::default()).expect("commit 0");
        checkpoint.write_offsets(1, &entry(5)).expect("offsets 1");
    }
    let checkpoint = Checkpoint::open(dir.path(), "f", 100, 2).expect("reopen");
    let recovery = checkpoint.recovery().expect("recovery");
    assert_eq!(recovery.next_epoch, 1);
    assert_eq!(recovery.replay, Some(entry(5)));
    assert_eq!(recovery.last_committed, Some(entry(3)));
}

#[test]
fn old_epochs_are_purged_beyond_the_retained_window() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let checkpoint = Checkpoint::open(dir.path(), "f", 2, 2).expect("open");
    for epoch in 0..5 {
        checkpoint.write_offsets(epoch, &entry(epoch)).expect("offsets");
        checkpoint.commit(epoch, &CommitEntry::default()).expect("commit");
    }
    assert_eq!(
        EpochLog::new(dir.path().join("offsets"))
            .epochs()
            .expect("epochs"),
        vec![3, 4]
    );
    assert_eq!(
        EpochLog::new(dir.path().join("commits"))
            .epochs()
            .expect("epochs"),
        vec![3, 4]
    );
    assert_eq!(checkpoint.recovery().expect("recovery").next_epoch, 5);
}

#[test]
fn records_are_logged_and_read_back() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let checkpoint = Checkpoint::open(dir.path(), "f", 100, 2).expect("open");
    let rows = vec![row!["a line", 1i64], row!["", -2i64]];
    checkpoint.write_records(0, 4, &rows).expect("write");
    assert_eq!(checkpoint.read_records(0, 4).expect("read"), rows);
    assert_eq!(
        checkpoint.read_records(0, 5).expect_err("missing").code(),
        "CHECKPOINT_CORRUPT"
    );
}

#[test]
fn a_checkpoint_of_another_query_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    drop(Checkpoint::open(dir.path(), "one plan", 100, 2).expect("open"));
    let refused = Checkpoint::open(dir.path(), "another plan", 100, 2).expect_err("foreign");
    assert_eq!(refused.code(), "CHECKPOINT_FOREIGN");
    assert!(refused.to_string().contains("different query"), "{refused}");
}

#[test]
fn a_second_live_query_on_the_same_checkpoint_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let _first = Checkpoint::open(dir.path(), "f", 100, 2).expect("open");
    let refused = Checkpoint::open(dir.path(), "f", 100, 2).expect_err("locked");
    assert_eq!(refused.code(), "CHECKPOINT_LOCKED");
}

#[test]
fn an_unknown_layout_version_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let metadata = format!(
        "{{\"id\":\"{}\",\"layoutVersion\":7,\"planFingerprint\":\"f\"}}",
        Uuid::new_v4()
    );
    std::fs::write(dir.path().join("metadata"), metadata).expect("metadata");
    let refused = Checkpoint::open(dir.path(), "f", 100, 2).expect_err("version");
    assert_eq!(refused.code(), "CHECKPOINT_VERSION");
}

#[test]
fn corrupt_files_are_refused_and_temporary_files_ignored() {
    let dir = tempfile::tempdir().expect("temporary directory");
    {
        let checkpoint = Checkpoint::open(dir.path(), "f", 100, 2).expect("open");
        checkpoint.write_offsets(0, &entry(1)).expect("offsets");
        checkpoint.commit(0, &CommitEntry::default()).expect("commit");
    }
    // A write a crash interrupted leaves a temporary file: it is not an entry.
    std::fs::write(dir.path().join("offsets/.tmp-1-x"), "v1\n{\"batch").expect("temporary");
    let checkpoint = Checkpoint::open(dir.path(), "f", 100, 2).expect("reopen");
    assert_eq!(checkpoint.recovery().expect("recovery").next_epoch, 1);
    drop(checkpoint);
    // A truncated commit is refused.
    std::fs::write(dir.path().join("commits/0"), "v1\n{\"nextBatchWat").expect("damage");
    let checkpoint = Checkpoint::open(dir.path(), "f", 100, 2).expect("reopen");
    assert_eq!(
        checkpoint.recovery().expect_err("corrupt").code(),
        "CHECKPOINT_CORRUPT"
    );
    drop(checkpoint);
    std::fs::write(dir.path().join("metadata"), "{\"id\":").expect("damage metadata");
    assert_eq!(
        Checkpoint::open(dir.path(), "f", 100, 2)
            .expect_err("corrupt")
            .code(),
        "CHECKPOINT_CORRUPT"
    );
}

#[test]
fn fingerprints_are_stable_and_tell_plans_apart() {
    assert_eq!(fingerprint(""), "cbf29ce484222325");
    assert_eq!(fingerprint("a"), "af63dc4c8601ec8c");
    assert_ne!(fingerprint("SELECT a"), fingerprint("SELECT b"));
}

#[test]
fn a_lock_let_go_a_moment_later_is_taken_and_one_kept_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join(".lock");
    let open = || File::create(&path).expect("lock file");
    let holder = open();
    holder.lock().expect("the first lock");
    let waiting = open();
    assert!(matches!(
        lock_within(&waiting, std::time::Duration::ZERO),
        Err(TryLockError::WouldBlock)
    ));
    // As a stopped query's lock, held on by a child process that has not started its
    // program yet, lets go.
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(holder);
    });
    lock_within(&waiting, LOCK_WAIT).expect("taken once the holder lets go");
    release.join().expect("the holder's thread");
}
