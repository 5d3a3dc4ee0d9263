// Package cluster is edgewatch's store-neutral connector to OpenSearch and
// Elasticsearch: field profiles, pushed-down queries (the facing step's
// latest row per device and port, the event step's filter), PIT +
// search_after streaming (the read side, Source), bulk create (the write
// side, AlertWriter and BulkWriter), and the transport both need: Client
// over a one-method Doer that connectors/opensearch (opensearch-go v4) and
// connectors/elasticsearch (go-elasticsearch v8) implement over the
// official clients (each connector's Connect ends in Handshake), with
// retries and errors sorted downstream vs ours. One
// code path is proven against both servers by one conformance suite.
//
// What edgewatch keeps in a stack besides alerts (templates, the indicator
// lookup index, the state index, retention, saved objects, triggers) is
// managed by the plugin's stack package, over this Client.
package cluster
