package incremental

import (
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/internal/testlog"
)

func TestMain(m *testing.M) { testlog.Main(m) }

func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }
