package cli

import (
	"github.com/edgewatch/edgewatch/plugin/wire"
	"github.com/spf13/cobra"
)

func (a *app) statusCommand() *cobra.Command {
	var af adminFlags
	var detections []string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show edgewatch's state in the cluster (feeds, checkpoints, last runs)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, d := range detections {
				if err := wire.ValidateDetectionName(d); err != nil {
					return usageErrorf("--detection: %v", err)
				}
			}
			return printOp(a, cmd, &af, wire.OpStatus, func(s wire.Settings) (wire.StatusArgs, error) {
				return wire.StatusArgs{Settings: s, Detections: detections}, nil
			})
		},
	}
	cmd.Flags().StringSliceVar(&detections, "detection", nil, "detection to show (repeatable; default: every detection with a checkpoint)")
	af.register(cmd.Flags())
	return cmd
}
