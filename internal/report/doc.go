// Package report renders edgewatch's findings as one self-contained HTML page
// (inline CSS, inline vanilla JS and SVG, no external URL) holding the same
// panels as the bundled Kibana / OpenSearch Dashboards dashboard: alert
// counts, alerts over time by severity, top threat-intel IPs with their IPsum
// count, top targeted devices, ports, initiating processes, internet-facing
// reasons, the latest alerts with the seed query's columns, the feed panel and
// run health. It is what `edgewatch report --out report.html` writes, from the
// alert index or from an alerts NDJSON file (file mode).
//
// Alerts are streamed into a Summary (Add, AddDocument, ReadNDJSON), which keeps counts
// and a bounded list of the newest alerts, so memory does not grow with the
// number of alerts beyond one counter per distinct IP, device, port, process
// and reason. The package decodes the alert document itself and does not
// import correlation/ (cmd/edgewatch must not depend on it).
package report
