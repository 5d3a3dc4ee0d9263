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
			s, secrets, err := a.adminSettings(cmd, &af)
			if err != nil {
				return err
			}
			res, err := callOp(a, cmd, wire.OpStatus, wire.StatusArgs{Settings: s, Detections: detections}, secrets, af.sets, nil)
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), res)
		},
	}
	cmd.Flags().StringSliceVar(&detections, "detection", nil, "detection to show (repeatable; default: every detection with a checkpoint)")
	af.register(cmd.Flags())
	return cmd
}
