// Package servecmd is the `edgewatch serve` subcommand: it reads the serve
// configuration, starts the detector plugin under a supervisor that
// restarts it with backoff, and runs internal/serve until SIGTERM.
//
// The root command (internal/cli) registers it with one line:
//
//	root.AddCommand(servecmd.Command(servecmd.Options{Getenv: a.env.Getenv, Executable: a.executable,
//		Version: Version, Usage: func(err error) error { return &usageError{msg: err.Error()} }}))
package servecmd
