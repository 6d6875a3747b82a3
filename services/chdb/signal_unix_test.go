//go:build unix

package chdb

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGoSignalsSurviveOpen checks what chDB's own handlers would break: a
// nil dereference must stay a recoverable panic, and SIGINT/SIGTERM must
// reach signal.NotifyContext.
func TestGoSignalsSurviveOpen(t *testing.T) {
	c := mustOpen(t, t.TempDir())
	query(t, c, "SELECT count() FROM numbers(1000000)")
	assertGoSignalHandlers(t)

	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "nil pointer dereference") {
				t.Errorf("recover() = %v; want a nil pointer dereference panic", r)
			}
		}()
		var p *int
		_ = *p
	}()

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, stop := signal.NotifyContext(context.Background(), sig)
			defer stop()
			// Several, while the engine's threads are busy, so that some
			// land on threads the engine created.
			done := make(chan error, 1)
			go func() {
				_, err := c.Query("SELECT sum(number) FROM numbers(20000000)", "CSV")
				done <- err
			}()
			for range 5 {
				if err := syscall.Kill(os.Getpid(), sig); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatalf("%v did not reach signal.NotifyContext", sig)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}
