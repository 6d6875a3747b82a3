//go:build !linux || !(amd64 || arm64)

package chdb

// signalSnapshot is empty where chDB is not packaged (only linux/amd64 is,
// today): chdb_set_signal_handlers_enabled(0) is then the only protection.
type signalSnapshot struct{}

func snapshotSignals() *signalSnapshot { return &signalSnapshot{} }

func restoreSignals(*signalSnapshot) {}
