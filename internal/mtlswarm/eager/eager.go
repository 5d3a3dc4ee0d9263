package eager

import "github.com/edgewatch/edgewatch/internal/mtlswarm"

func init() { mtlswarm.Start() }
