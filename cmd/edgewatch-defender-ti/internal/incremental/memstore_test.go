package incremental_test

import (
	"testing"

	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental"
	"github.com/edgewatch/edgewatch/cmd/edgewatch-defender-ti/internal/incremental/incrementaltest"
)

func TestMemStoreSuite(t *testing.T) { incrementaltest.StoreSuite(t, &incremental.MemStore{}) }
