package correlation

// Severity labels (edgewatch.severity) and their scores (event.severity, on
// Elastic Security's 0-100 risk-score scale).
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"

	ScoreLow      = 21
	ScoreMedium   = 47
	ScoreHigh     = 73
	ScoreCritical = 99
)

// SeverityForLevel maps an IPsum level (the number of blacklists naming the
// address, capped at 8) to a severity:
//
//	level 1-2  low       21
//	level 3-4  medium    47   (the seed uses level 4)
//	level 5-6  high      73
//	level 7+   critical  99
//
// Level 0 means "not known" (a plain list, or a levels file whose level was
// not given): the operator chose to load it, so it is medium, neither
// dismissed as low nor inflated.
func SeverityForLevel(level int) (label string, score int) {
	switch {
	case level <= 0:
		return SeverityMedium, ScoreMedium
	case level <= 2:
		return SeverityLow, ScoreLow
	case level <= 4:
		return SeverityMedium, ScoreMedium
	case level <= 6:
		return SeverityHigh, ScoreHigh
	default:
		return SeverityCritical, ScoreCritical
	}
}

// ConfidenceForLevel maps an IPsum level to ECS threat.indicator.confidence:
// 1-2 Low, 3-4 Medium, 5+ High, 0 (not known) "Not Specified". More lists
// naming an address means fewer false positives.
func ConfidenceForLevel(level int) string {
	switch {
	case level <= 0:
		return "Not Specified"
	case level <= 2:
		return "Low"
	case level <= 4:
		return "Medium"
	default:
		return "High"
	}
}
