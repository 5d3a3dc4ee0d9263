package wire

// Op names one admin operation together with its argument and result
// types: the host calls it with plugin.Call(ctx, client, wire.OpFeedLoad,
// args, secrets, stream) and gets a FeedLoadResult back; the plugin serves
// it with plugin.Handle(mux, wire.OpFeedLoad, handler). On the wire it is the
// frozen Exec(op, args_json) of the Admin service, so adding an operation
// needs no protocol change.
type Op[A, R any] struct{ Name string }

// The operations of the edgewatch-defender-ti plugin.
var (
	// OpFeedLoad loads an indicator feed into the lookup index (a fresh
	// index, verified, made live by one atomic alias swap).
	OpFeedLoad = Op[FeedLoadArgs, FeedLoadResult]{"feed.load"}
	// OpFeedStatus shows the live index of one or every feed.
	OpFeedStatus = Op[FeedStatusArgs, FeedStatusResult]{"feed.status"}
	// OpInstall prepares a stack: templates, indices, retention policy,
	// saved objects, triggers; every step is reported.
	OpInstall = Op[InstallArgs, StepsResult]{"install"}
	// OpUninstall removes what OpInstall put (data only when asked).
	OpUninstall = Op[UninstallArgs, StepsResult]{"uninstall"}
	// OpReport reads what the HTML report shows from the cluster: it streams
	// the newest alert documents (Stream.Alerts) and answers the run
	// records, the live feed and the counts; the host renders the page.
	OpReport = Op[ReportArgs, ReportData]{"report"}
	// OpStatus shows what edgewatch keeps in the cluster: feeds,
	// checkpoints, last runs.
	OpStatus = Op[StatusArgs, StatusResult]{"status"}

	// OpRunIncremental runs a detection from its checkpoint (or over an
	// explicit window) under its lease, committing window by window.
	OpRunIncremental = Op[RunIncrementalArgs, Outcome]{"detection.run_incremental"}
	// OpRetroHunt re-scans a detection's past with the given indicators only.
	OpRetroHunt = Op[RetroHuntArgs, Outcome]{"detection.retro_hunt"}
	// OpFeedRefresh loads a feed file atomically, then retro-hunts what the
	// load added.
	OpFeedRefresh = Op[FeedRefreshArgs, FeedRefreshResult]{"detection.feed_refresh"}
	// OpDetectionStatus reads checkpoint, lag, last run, lease and last
	// retro-hunt per detection.
	OpDetectionStatus = Op[DetectionStatusArgs, DetectionStatusResult]{"detection.status"}
)
