// Package dashboards holds the assets edgewatch installs into a stack, embedded
// with go:embed so the binary needs no files at run time:
//
//   - saved objects for OpenSearch Dashboards 2.x (7.x format) and Kibana
//     8.9+/9.x (Kibana 8 export format), the same objects with fixed ids —
//     SavedObjects, ObjectRefs;
//   - retention policies for the alert indices (ISM on OpenSearch, ILM on
//     Elasticsearch) — RetentionPolicy;
//   - schedule triggers that call edgewatch's webhook (an Elastic Watcher
//     watch, an OpenSearch Alerting monitor and its Notifications channel) —
//     WatcherDefinition, AlertingMonitor, NotificationChannel;
//   - Aggregations, which rebuilds the search body each visualization sends,
//     so tests can run the dashboards' queries against real clusters;
//   - the least-privileged detector and installer roles for secured
//     clusters (OpenSearch security role, Elasticsearch role) —
//     SecurityRole, printed by `edgewatch install --print-roles`;
//   - the index templates (templates.go, owned separately).
//
// The import HTTP client is in the importer subpackage.
package dashboards
