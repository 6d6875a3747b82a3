//go:build linux && (amd64 || arm64)

package chdb

import (
	"syscall"
	"testing"
	"unsafe"
)

func setSigaction(t *testing.T, sig syscall.Signal, act *kernelSigaction) {
	t.Helper()
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), 0, sigsetLen, 0, 0); errno != 0 {
		t.Fatalf("rt_sigaction(%d): %v", sig, errno)
	}
}

// TestRestoreSignals plays the engine: it takes over a signal the Go
// runtime handles and one nobody handled, and restoreSignals must give back
// the first and leave the second.
func TestRestoreSignals(t *testing.T) {
	const sigIgn = 1
	goOwned := syscall.SIGTRAP // the runtime installs a handler for it
	unowned := syscall.SIGTTIN // SIG_DFL: the runtime leaves it alone
	before := snapshotSignals()
	if before[goOwned][0] == 0 {
		t.Fatalf("signal %d has no Go handler to protect", goOwned)
	}
	if before[unowned][0] != 0 {
		t.Fatalf("signal %d is not SIG_DFL", unowned)
	}
	t.Cleanup(func() { setSigaction(t, unowned, &before[unowned]) })

	ign := kernelSigaction{sigIgn}
	setSigaction(t, goOwned, &ign)
	setSigaction(t, unowned, &ign)
	restoreSignals(before)

	after := snapshotSignals()
	if after[goOwned] != before[goOwned] {
		t.Errorf("signal %d: %x after restore; want the Go runtime's %x", goOwned, after[goOwned], before[goOwned])
	}
	if after[unowned][0] != sigIgn {
		t.Errorf("signal %d: %x after restore; want what the engine set (SIG_IGN)", unowned, after[unowned])
	}
}

// assertGoSignalHandlers fails the test unless every signal the engine
// would take by default, and those Go programs rely on, still goes to the
// Go runtime's handler (the one SIGHUP, which the engine never touches,
// has). Checked before anything faults, so that a regression fails rather
// than hangs in the engine's crash handler.
func assertGoSignalHandlers(t *testing.T) {
	t.Helper()
	s := snapshotSignals()
	goHandler := s[syscall.SIGHUP][0]
	for _, sig := range []syscall.Signal{
		syscall.SIGILL, syscall.SIGTRAP, syscall.SIGABRT, syscall.SIGBUS, syscall.SIGFPE,
		syscall.SIGSEGV, syscall.SIGSYS, // the engine's crash handlers
		syscall.SIGINT, syscall.SIGTERM, syscall.SIGURG, syscall.SIGPIPE, syscall.SIGPROF,
	} {
		if s[sig][0] != goHandler {
			t.Fatalf("%v (%d) is handled at %#x; want the Go runtime's %#x", sig, sig, s[sig][0], goHandler)
		}
	}
}
