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

// RolloverSize is the primary shard size at which the retention policy
// rolls an alert or findings alias over to a new backing index.
const RolloverSize = "10gb"

// RolloverAge is the age at which the retention policy rolls an alias over
// for a retention of days: a tenth of it, between 1 and 30 days, so that an
// index is deleted at most a tenth of the retention after its oldest alert
// reached the retention.
func RolloverAge(days int) string {
	return fmt.Sprintf("%dd", min(max((days+9)/10, 1), 30))
}

// RetentionPolicy renders the alert retention policy for flavor: alerts
// and findings are written through write aliases (edgewatch-alerts-*,
// edgewatch-findings-*) whose backing indices the policy rolls over by age
// (RolloverAge) and size (RolloverSize), and deletes days after their
// rollover — never the write index, so today's alerts are never deleted
// with the old ones. The body is for PUT RetentionPolicyPath(flavor).
//
// When the age counts: ILM's delete min_age counts from the rollover for
// an index that was rolled over (ILM records the rollover time as the
// index's lifecycle date), from its creation otherwise. ISM's min_index_age
// counts from the creation whatever happened, so the ISM policy's transition
// to delete uses min_rollover_age, which counts from the rollover (the
// cluster's rollover info, whoever rolled it over) and never fires for an
// index that was not rolled over.
//
// Both engines roll an alias over only with the alias named in the index's
// settings (RolloverIndexSettings): install puts them into the alias's own
// index template and on its existing backing indices.
//
// OpenSearch: the policy carries an ism_template for both patterns, so it
// attaches itself to indices created after it; indices that already exist
// need POST _plugins/_ism/add/<index> {"policy_id": RetentionPolicyID}.
// Updating an existing ISM policy needs ?if_seq_no=&if_primary_term= from a
// GET of the policy, or the PUT answers 409.
//
// Elasticsearch: ILM attaches through the index setting
// index.lifecycle.name; put it into a template only once the policy was
// accepted, because a cluster without ILM (the integ-test distribution)
// rejects the unknown setting and would then refuse to create alert indices
// at all.
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
	return fill("retention/"+flavor, doc, map[string]any{"days": fmt.Sprint(days), "rollover_age": RolloverAge(days), "rollover_size": RolloverSize})
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

// RolloverIndexSettings are the index settings that put a backing index
// of alias under the policy and let it roll the alias over: on
// Elasticsearch index.lifecycle.name and index.lifecycle.rollover_alias; on
// OpenSearch plugins.index_state_management.rollover_alias (the policy's
// ism_template attaches the policy itself).
func RolloverIndexSettings(flavor, alias string) map[string]any {
	if flavor == FlavorElasticsearch {
		return map[string]any{"index.lifecycle.name": RetentionPolicyID, "index.lifecycle.rollover_alias": alias}
	}
	return map[string]any{"plugins.index_state_management.rollover_alias": alias}
}
