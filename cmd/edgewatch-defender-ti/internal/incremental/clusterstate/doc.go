// Package clusterstate stores edgewatch's incremental state (checkpoints,
// leases, retro-hunt records) as documents of the state index in
// OpenSearch or Elasticsearch, through a connectors/cluster Doer. It is the
// production incremental.StateStore; it lives on the plugin side.
//
// Concurrency is the stores' own optimistic control: creates use
// op_type=create (409 when the id exists) and updates carry
// if_seq_no/if_primary_term (409 when someone wrote first). GET by id is
// real-time in both stores, so no refresh is needed between a write and the
// next read.
package clusterstate
