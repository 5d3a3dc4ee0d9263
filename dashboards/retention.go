package dashboards

import (
	_ "embed"
	"fmt"
)

// Retention flavors: which cluster's policy engine the policy is for.
const (
	FlavorOpenSearch    = "opensearch"    // Index State Management (ISM)
	FlavorElasticsearch = "elasticsearch" // Index Lifecycle Management (ILM)
)

// RetentionPolicyID is the id of the alert retention policy on both clusters.
const RetentionPolicyID = "edgewatch-alerts-retention"

// DefaultRetentionDays is how long alerts are kept when the operator does not
// say otherwise.
const DefaultRetentionDays = 90

//go:embed retention/ism.json
var ismPolicy []byte

//go:embed retention/ilm.json
var ilmPolicy []byte

// RetentionPolicy renders the alert retention policy for flavor: alert
// indices are deleted days after they were created. The body is for
// PUT RetentionPolicyPath(flavor).
//
// OpenSearch: the policy carries an ism_template for edgewatch-alerts-*, so
// it attaches itself to alert indices created after it; indices that already
// exist need POST _plugins/_ism/add/<index> {"policy_id": RetentionPolicyID}.
// Updating an existing ISM policy needs ?if_seq_no=&if_primary_term= from a
// GET of the policy, or the PUT answers 409.
//
// Elasticsearch: ILM attaches through the index setting
// index.lifecycle.name (RetentionIndexSettings); put it into the alerts
// template only once the policy was accepted, because a cluster without ILM
// (the integ-test distribution) rejects the unknown setting and would then
// refuse to create alert indices at all.
func RetentionPolicy(flavor string, days int) ([]byte, error) {
	if days < 1 || days > 36500 {
		return nil, fmt.Errorf("dashboards: retention days %d out of range [1, 36500]", days)
	}
	var doc []byte
	switch flavor {
	case FlavorOpenSearch:
		doc = ismPolicy
	case FlavorElasticsearch:
		doc = ilmPolicy
	default:
		return nil, fmt.Errorf("dashboards: unknown retention flavor %q (want %q or %q)", flavor, FlavorOpenSearch, FlavorElasticsearch)
	}
	return fill("retention/"+flavor, doc, map[string]any{"days": fmt.Sprint(days)})
}

// RetentionPolicyPath is the path the policy is PUT to.
func RetentionPolicyPath(flavor string) (string, error) {
	switch flavor {
	case FlavorOpenSearch:
		return "/_plugins/_ism/policies/" + RetentionPolicyID, nil
	case FlavorElasticsearch:
		return "/_ilm/policy/" + RetentionPolicyID, nil
	default:
		return "", fmt.Errorf("dashboards: unknown retention flavor %q", flavor)
	}
}

// RetentionIndexSettings are the index settings that attach the policy to
// alert indices: for Elasticsearch, {"index.lifecycle.name": RetentionPolicyID}
// (template and existing indices); for OpenSearch none (the policy's
// ism_template does it).
func RetentionIndexSettings(flavor string) map[string]string {
	if flavor == FlavorElasticsearch {
		return map[string]string{"index.lifecycle.name": RetentionPolicyID}
	}
	return nil
}
