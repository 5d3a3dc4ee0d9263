// Package bundle is the source of the saved-object bundles that edgewatch
// ships for OpenSearch Dashboards and Kibana. The NDJSON files embedded by
// package dashboards are generated from it (see the golden test in
// dashboards: go test ./dashboards -run TestSavedObjectsGolden -update), so
// the objects are written once, in Go, where the JSON-in-JSON attributes
// (visState, panelsJSON, searchSourceJSON) are marshalled rather than
// hand-escaped. The objects are built once (objects) and written in two
// formats: the 7.x format OpenSearch Dashboards 2.x imports, and the
// Kibana 8 export format (kibana.go).
package bundle
