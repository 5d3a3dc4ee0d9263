// Package stack manages everything edgewatch keeps in an OpenSearch or
// Elasticsearch stack besides the alerts it writes: the index templates and
// the state and alert indices (templates.go); the indicator lookup index,
// loaded into a fresh index and made live by one atomic alias swap, read
// back for a detection and described by feed status (feeds.go); the state
// index's run records and the incremental.StateStore over it with the
// stores' optimistic concurrency (state.go, statestore.go); the alert
// retention policy (ISM on OpenSearch, ILM on Elasticsearch), the bundled
// saved objects in Dashboards or Kibana and the schedule triggers (Watcher,
// Alerting), each installed and removed as reported steps (install.go,
// retention.go, savedobjects.go, triggers.go, uninstall.go).
//
// It talks to the cluster through connectors/cluster's Client, the same
// transport the read connector and the alert writer use, and takes the
// bodies of what it installs from package dashboards. It is plugin-side
// only: the host reaches it through the admin operations.
package stack
