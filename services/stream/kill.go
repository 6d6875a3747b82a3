package stream

import (
	"context"
	"sync/atomic"
)

// killKey marks a context whose runs may be killed, for fault tests.
type killKey struct{}

// WithKill returns a context for running services and a kill function that
// ends them as a crash of their process would, for fault tests: every Loop
// running under ctx stops at its next step without its final flush and
// commit, and flushes and commits nothing when its client's close revokes
// its partitions. The committed offsets stay where the last regular commit
// left them, so the partitions' next owner replays what the killed loops
// held, as after a SIGKILL (which an in-process test cannot send to a part
// of itself). kill then cancels ctx, which ends everything else.
func WithKill(parent context.Context) (ctx context.Context, kill func()) {
	dead := new(atomic.Bool)
	ctx, cancel := context.WithCancel(context.WithValue(parent, killKey{}, dead))
	return ctx, func() {
		// Set before the cancel: a loop that sees ctx end sees the kill too.
		dead.Store(true)
		cancel()
	}
}

// killed returns whether ctx's run was killed, nil if ctx was not made by
// WithKill.
func killed(ctx context.Context) func() bool {
	dead, ok := ctx.Value(killKey{}).(*atomic.Bool)
	if !ok {
		return nil
	}
	return dead.Load
}
