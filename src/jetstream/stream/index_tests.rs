//! Tests of [`Index`]: counts and subjects, removal below a seq, time search, a static key
//! beside a million hot updates, and a model test against a plain map.

use super::*;

fn idx(subjects: &[&str]) -> Index {
    let mut ix = Index::default();
    for (i, s) in subjects.iter().enumerate() {
        let seq = i as u64 + 1;
        ix.insert(seq, s.as_bytes(), seq as i64 * 10, 100);
    }
    ix
}

#[test]
fn insert_remove_keeps_counts_and_subjects() {
    let mut ix = idx(&["a", "b", "a", "c", "a"]);
    assert_eq!((ix.len(), ix.first(), ix.num_subjects()), (5, Some(1), 3));
    assert_eq!(ix.seqs_of(b"a").map(|d| d.len()), Some(3));
    assert_eq!(ix.remove(3), Some(100));
    assert_eq!(ix.remove(3), None);
    assert_eq!(
        ix.seqs_of(b"a")
            .map(|d| d.iter().copied().collect::<Vec<_>>()),
        Some(vec![1, 5])
    );
    assert_eq!(
        (ix.count_from(1), ix.count_from(3), ix.count_from(4)),
        (4, 2, 2)
    );
    assert_eq!(ix.remove(4), Some(100));
    assert!(ix.seqs_of(b"c").is_none());
    assert_eq!(ix.num_subjects(), 2);
    ix.remove(1);
    ix.remove(2);
    assert_eq!(
        (ix.first(), ix.len(), ix.first_ts()),
        (Some(5), 1, Some(50))
    );
    ix.remove(5);
    assert_eq!((ix.first(), ix.len(), ix.num_subjects()), (None, 0, 0));
    // A new subject reuses a freed id; a gap becomes tombstones.
    ix.insert(9, b"d", 90, 7);
    ix.insert(11, b"e", 110, 7);
    assert_eq!((ix.first(), ix.len(), ix.count_from(10)), (Some(9), 2, 1));
    assert_eq!(ix.seqs_of(b"e").and_then(|q| q.front().copied()), Some(11));
    assert_eq!(ix.meta(10), None);
    assert_eq!(ix.meta(9), Some((90, 7)));
}

#[test]
fn remove_below_and_time_search() {
    let mut ix = idx(&["a", "b", "a", "b", "a", "b"]);
    ix.remove(4);
    assert_eq!(ix.seq_at_time(0), Some(1));
    assert_eq!(ix.seq_at_time(25), Some(3));
    assert_eq!(ix.seq_at_time(1000), None);
    ix.remove_below(4);
    assert_eq!((ix.first(), ix.len()), (Some(5), 2));
    assert_eq!(ix.seqs_of(b"a").map(|d| d.len()), Some(1));
    let live: Vec<u64> = ix.live_from(0).map(|(s, _, _)| s).collect();
    assert_eq!(live, vec![5, 6]);
    ix.remove_below(100);
    assert_eq!((ix.first(), ix.len(), ix.num_subjects()), (None, 0, 0));
    assert_eq!(ix.count_from(0), 0);
}

/// A key written once and a key updated a million times: memory follows the two live
/// messages, not the million dead seqs between them.
#[test]
fn a_static_key_does_not_pin_later_tombstones() {
    let mut ix = Index::default();
    ix.insert(1, b"static", 1, 10);
    for seq in 2..1_000_000u64 {
        ix.insert(seq, b"hot", seq as i64, 10);
        if seq > 2 {
            ix.remove(seq - 1);
        }
    }
    assert_eq!(ix.len(), 2);
    assert!(ix.entries.len() + ix.interior.len() <= 2 * SPARSE_SLACK + 2);
    assert_eq!((ix.first(), ix.last()), (Some(1), Some(999_999)));
    assert_eq!(ix.count_from(0), 2);
    assert_eq!(ix.count_from(2), 1);
    assert_eq!(ix.seq_at_time(5), Some(999_999));
    assert_eq!(ix.meta(1), Some((1, 10)));
    assert_eq!(ix.subject_of(1), Some(&b"static"[..]));
    let live: Vec<u64> = ix.live_from(0).map(|(s, _, _)| s).collect();
    assert_eq!(live, [1, 999_999]);
}

/// Random inserts, removes and remove_below against a plain map.
#[test]
fn matches_a_plain_map_model() {
    let mut ix = Index::default();
    let mut model: BTreeMap<u64, (i64, &[u8])> = BTreeMap::new();
    let subjects: [&[u8]; 4] = [b"a", b"b", b"c", b"d"];
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut seq = 0u64;
    let mut went_sparse = 0;
    for step in 0..20_000 {
        match next() % 10 {
            0..=4 => {
                seq += 1 + next() % 3;
                let subj = subjects[(next() % 4) as usize];
                ix.insert(seq, subj, seq as i64 * 10, 5);
                model.insert(seq, (seq as i64 * 10, subj));
            }
            5..=8 if !model.is_empty() => {
                // Mostly old messages, as per-subject limits and work queues remove.
                let keys: Vec<u64> = model.keys().copied().collect();
                let k = keys[(next() as usize % keys.len()) / (1 + (next() % 3) as usize)];
                assert_eq!(ix.remove(k), Some(5));
                model.remove(&k);
            }
            9 if step % 50 == 0 => {
                let below = seq.saturating_sub(next() % 40);
                ix.remove_below(below);
                model = model.split_off(&below);
            }
            _ => {}
        }
        went_sparse = went_sparse.max(ix.sparse.len());
        let probe = next() % (seq + 2);
        assert_eq!(ix.len(), model.len() as u64);
        assert_eq!(ix.first(), model.keys().next().copied());
        assert_eq!(ix.last(), model.keys().next_back().copied());
        assert_eq!(ix.count_from(probe), model.range(probe..).count() as u64);
        assert_eq!(ix.meta(probe), model.get(&probe).map(|&(ts, _)| (ts, 5)));
        // The answer may be a dead seq just before the first live one at that time.
        let at = ix.seq_at_time(probe as i64 * 10);
        assert_eq!(
            at.and_then(|s| model.range(s..).next().map(|(&s, _)| s)),
            model.range(probe..).next().map(|(&s, _)| s)
        );
        for (subj, seqs) in ix.subjects() {
            let want: Vec<u64> = model
                .iter()
                .filter(|(_, (_, s))| *s == subj)
                .map(|(&q, _)| q)
                .collect();
            assert_eq!(seqs.iter().copied().collect::<Vec<_>>(), want);
        }
    }
    let live: Vec<u64> = ix.live_from(0).map(|(s, _, _)| s).collect();
    assert_eq!(live, model.keys().copied().collect::<Vec<_>>());
    assert!(
        went_sparse > 10,
        "the sparse map was exercised: {went_sparse}"
    );
}
