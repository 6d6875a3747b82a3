//go:build linux && (amd64 || arm64)

package chdb

import (
	"syscall"
	"unsafe"
)

// kernelSigaction is an opaque buffer for the kernel's struct sigaction,
// which is 32 bytes on linux/amd64 and linux/arm64 (handler, flags, restorer,
// 8-byte mask). It is only read and written back whole, never decoded, so
// the raw rt_sigaction syscall round-trips exactly what the Go runtime set.
type kernelSigaction [4]uint64

const (
	nsig      = 64
	sigsetLen = 8 // the kernel's sigset_t, in bytes
)

type signalSnapshot [nsig + 1]kernelSigaction

// snapshotSignals records every signal disposition of the process.
func snapshotSignals() *signalSnapshot {
	var s signalSnapshot
	for sig := 1; sig <= nsig; sig++ {
		// Reading cannot fail for a valid signal number; SIGKILL and
		// SIGSTOP are read too, and since nothing can change them they
		// never differ.
		_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0,
			uintptr(unsafe.Pointer(&s[sig])), sigsetLen, 0, 0)
	}
	return &s
}

// restoreSignals puts back every disposition that changed since s was taken
// and was not SIG_DFL then: those belong to the Go runtime (SIGSEGV for nil
// dereferences and stack growth, SIGURG for preemption, SIGINT/SIGTERM for
// signal.Notify) or to the program. Signals that were SIG_DFL keep what the
// engine installed (it uses SIGRTMIN); Go installs a handler there itself if
// the program ever asks for one.
func restoreSignals(s *signalSnapshot) {
	now := snapshotSignals()
	for sig := 1; sig <= nsig; sig++ {
		const sigDFL = 0
		if now[sig] == s[sig] || s[sig][0] == sigDFL {
			continue
		}
		_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig),
			uintptr(unsafe.Pointer(&s[sig])), 0, sigsetLen, 0, 0)
	}
}
