//go:build unix

package chdb

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// lockHolder returns the PID of another process holding dir, or "". The
// engine keeps an exclusive flock on <dir>/status while it runs there, and
// writes its PID into that file; the file stays behind after a clean exit,
// so only a held lock means the directory is in use.
func lockHolder(dir string) string {
	f, err := os.Open(filepath.Join(dir, "status"))
	if err != nil {
		return ""
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return ""
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if pid, ok := strings.CutPrefix(sc.Text(), "PID: "); ok {
			return strings.TrimSpace(pid)
		}
	}
	return "unknown"
}
