// Package importer is the HTTP client for the saved-objects API of Kibana 8.x
// and OpenSearch Dashboards 2.x: Import posts an NDJSON bundle to
// /api/saved_objects/_import (spaces on Kibana, tenants on OSD) and reports
// every object the server refused; Delete and Uninstall remove objects by id
// for `edgewatch uninstall`. It uses net/http only.
package importer
