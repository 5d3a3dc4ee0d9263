// Package incremental turns one-shot detection runs into continuous,
// exactly-once-in-effect operation. It lives on the plugin side of the
// go-plugin boundary and holds pure logic over a small [StateStore]:
//
//   - checkpoints: per detection, the end of the last window that was fully
//     processed and written (document "checkpoint-<detection>" in the state
//     index). A run covers [checkpoint − overlap, now − delay], split into
//     bounded windows, oldest first; each successful window commits on its
//     own with optimistic concurrency (if_seq_no / if_primary_term); a failed
//     window stops the sequence and never advances the checkpoint.
//   - leases: document "lease-<detection>" with a holder and an expiry, so
//     that two serve processes never run the same detection at once; a dead
//     holder's lease expires.
//   - backfills: an explicit window (at most Config.MaxBackfill, default 7
//     days) run under its own lease "lease-<detection>.backfill", beside the
//     incremental runs; it never touches the checkpoint document and keeps
//     its progress in "backfill-<detection>".
//   - retro-hunt: a re-scan of a past window (default 7 days) with only the
//     indicators a feed load added.
//   - status: checkpoint, lag and last run per detection.
//
// Alerts are idempotent (their id is a hash of the finding), so the overlap
// and any re-run write nothing twice; the checkpoint only bounds the work.
//
// The package imports no connector: callers pass a StateStore (the cluster
// state index, stack.StateStore, or [MemStore] in tests) and a [WindowFunc]
// that runs the detection over one window. What it answers and reports (a
// Config, Window, Outcome, DetectionStatus) are plugin/wire types, which
// the host reads; the host never imports this package.
package incremental
