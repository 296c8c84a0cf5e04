use super::*;

fn station() -> StationId {
    "bench-1".parse().unwrap()
}

fn note(text: &str) -> Record {
    Record { operator: None, job: None, fact: Fact::Note { text: text.into() } }
}

#[tokio::test]
async fn sequence_is_gapless_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let journal = Journal::open(&path, &station()).await.unwrap();
    for i in 0..5 {
        journal.append(note(&format!("n{i}")), Utc::now()).await.unwrap();
    }
    journal.close().await;

    let journal = Journal::open(&path, &station()).await.unwrap();
    assert_eq!(journal.stats(), JournalStats { last_seq: 5, backlog: 5 });
    let event = journal.append(note("after"), Utc::now()).await.unwrap();
    assert_eq!(event.seq, 6);
    let seqs: Vec<u64> =
        journal.unconfirmed_after(0, 100).await.unwrap().iter().map(|p| p.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn concurrent_appends_never_share_or_skip_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.db"), &station()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let journal = journal.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..10 {
                journal.append(note(&format!("{i}-{k}")), Utc::now()).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let seqs: Vec<u64> =
        journal.unconfirmed_after(0, 1000).await.unwrap().iter().map(|p| p.seq).collect();
    assert_eq!(seqs, (1..=80).collect::<Vec<_>>());
}

#[tokio::test]
async fn confirmation_counts_only_known_unconfirmed_ids() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.db"), &station()).await.unwrap();
    let a = journal.append(note("a"), Utc::now()).await.unwrap();
    let b = journal.append(note("b"), Utc::now()).await.unwrap();
    let stranger = EventId::now_v7();
    assert_eq!(journal.confirm(&[a.id, stranger], Utc::now()).await.unwrap(), 1);
    assert_eq!(journal.confirm(&[a.id], Utc::now()).await.unwrap(), 0);
    assert_eq!(journal.stats().backlog, 1);
    let pending = journal.unconfirmed_after(0, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].seq, b.seq);
    let recent = journal.recent(10).await.unwrap();
    assert_eq!(recent[0].event, b);
    assert!(recent[0].confirmed_at.is_none());
    assert!(recent[1].confirmed_at.is_some());
}

#[tokio::test]
async fn a_journal_of_another_station_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.db");
    Journal::open(&path, &station()).await.unwrap().close().await;
    let err = Journal::open(&path, &"bench-2".parse().unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("belongs to station `bench-1`"), "{err}");
}

#[tokio::test]
async fn the_stored_payload_is_the_wire_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.db"), &station()).await.unwrap();
    let event = journal.append(note("x"), Utc::now()).await.unwrap();
    let pending = journal.unconfirmed_after(0, 1).await.unwrap();
    assert_eq!(pending[0].payload, encode_event(&event));
    assert_eq!(decode_event(&station(), &pending[0].payload).unwrap(), event);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_racing_confirmations_never_fail_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(&dir.path().join("j.db"), &station()).await.unwrap();
    let writer = {
        let journal = journal.clone();
        tokio::spawn(async move {
            for k in 0..300 {
                journal.append(note(&format!("n{k}")), Utc::now()).await.unwrap();
            }
        })
    };
    // Confirm whatever is there, as fast as acknowledgements could arrive.
    while !writer.is_finished() {
        let pending = journal.unconfirmed_after(0, 50).await.unwrap();
        let ids: Vec<EventId> = journal
            .recent(50)
            .await
            .unwrap()
            .iter()
            .filter(|e| pending.iter().any(|p| p.seq == e.event.seq))
            .map(|e| e.event.id)
            .collect();
        journal.confirm(&ids, Utc::now()).await.unwrap();
    }
    writer.await.unwrap();
    assert_eq!(journal.stats().last_seq, 300);
}
