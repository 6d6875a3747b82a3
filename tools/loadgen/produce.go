package loadgen

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// RunOptions say how fast and how long to produce.
type RunOptions struct {
	InferenceTopic string // driftline.raw.<source>
	LabelTopic     string // driftline.raw.labels
	// Rate is records per second; 0 produces as fast as the client takes them.
	Rate float64
	// Duration and Records stop the run, whichever comes first; zero values
	// do not limit.
	Duration time.Duration
	Records  int64
	Progress io.Writer // a line every ProgressEvery; nil: none
	// ProgressEvery defaults to 5 s.
	ProgressEvery time.Duration
	// CloseAfter is the out-of-orderness plus the allowed lateness: a window
	// can close once a record this far past its end has been sent.
	CloseAfter time.Duration
	// OnClosable, if set, is called with each window's start and the wall
	// time at which the first record that lets it close was handed to the
	// client.
	OnClosable func(window, at time.Time)
}

// Summary is what a run produced.
type Summary struct {
	Records    int64 // acknowledged by the brokers
	Inferences int64
	Labels     int64
	Failed     int64
	Elapsed    time.Duration
	Rate       float64 // acknowledged records per second
	FirstEvent time.Time
	LastEvent  time.Time
}

func (s Summary) String() string {
	return fmt.Sprintf("%d records (%d inferences, %d labels, %d failed) in %s: %.0f records/s; event time %s to %s",
		s.Records, s.Inferences, s.Labels, s.Failed, s.Elapsed.Round(time.Millisecond), s.Rate,
		s.FirstEvent.Format(time.RFC3339), s.LastEvent.Format(time.RFC3339))
}

// Produce sends g's records through cl until ctx ends or ro's limits are
// reached, then waits for every record to be acknowledged. Records that the
// brokers refuse are counted; the first error is returned with the summary.
func Produce(ctx context.Context, cl *kgo.Client, g *Generator, ro RunOptions) (Summary, error) {
	if ro.ProgressEvery <= 0 {
		ro.ProgressEvery = 5 * time.Second
	}
	var (
		acked, failed atomic.Int64
		firstErr      atomic.Pointer[error]
	)
	done := func(_ *kgo.Record, err error) {
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, &err)
			return
		}
		acked.Add(1)
	}
	// Records already handed over are not failed by a cancelled run: they
	// are flushed below.
	prodCtx := context.WithoutCancel(ctx)
	o := g.Options()
	var s Summary
	s.FirstEvent = o.Start
	nextWindow := o.Start.Truncate(o.Window)
	closeAt := nextWindow.Add(o.Window + ro.CloseAfter)

	began := time.Now()
	var deadline time.Time
	if ro.Duration > 0 {
		deadline = began.Add(ro.Duration)
	}
	nextProgress := began.Add(ro.ProgressEvery)
	var lastProgress int64
	lastAt := began
	// Records are allocated in blocks: one allocation per block, not per
	// record.
	var block []kgo.Record
	var sent int64
	for ctx.Err() == nil && (ro.Records <= 0 || sent < ro.Records) {
		now := time.Now()
		if !deadline.IsZero() && !now.Before(deadline) {
			break
		}
		burst := int64(1024)
		if ro.Rate > 0 {
			burst = int64(ro.Rate*now.Sub(began).Seconds()) - sent
			if burst <= 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			burst = min(burst, 4096)
		}
		if ro.Records > 0 {
			burst = min(burst, ro.Records-sent)
		}
		for range burst {
			if len(block) == 0 {
				block = make([]kgo.Record, 1024)
			}
			r := &block[0]
			block = block[1:]
			rec := g.Next()
			r.Key, r.Value = rec.Key, rec.Value
			if rec.Label {
				r.Topic = ro.LabelTopic
				s.Labels++
			} else {
				r.Topic = ro.InferenceTopic
				s.Inferences++
				s.LastEvent = rec.Time
				for !rec.Time.Before(closeAt) {
					if ro.OnClosable != nil {
						ro.OnClosable(nextWindow, time.Now())
					}
					nextWindow = nextWindow.Add(o.Window)
					closeAt = closeAt.Add(o.Window)
				}
			}
			cl.Produce(prodCtx, r, done)
			sent++
		}
		if ro.Progress != nil && now.After(nextProgress) {
			a := acked.Load()
			fmt.Fprintf(ro.Progress, "loadgen: %d records sent, %d acknowledged, %.0f/s over the last %s, event time %s\n",
				sent, a, float64(a-lastProgress)/now.Sub(lastAt).Seconds(), now.Sub(lastAt).Round(time.Second), s.LastEvent.Format(time.RFC3339))
			lastProgress, lastAt = a, now
			nextProgress = now.Add(ro.ProgressEvery)
		}
	}
	// Whatever ended the run, wait for what was handed to the client.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	ferr := cl.Flush(flushCtx)
	s.Elapsed = time.Since(began)
	s.Records, s.Failed = acked.Load(), failed.Load()
	s.Rate = float64(s.Records) / s.Elapsed.Seconds()
	if err := firstErr.Load(); err != nil {
		return s, fmt.Errorf("loadgen: %d records failed, first: %w", s.Failed, *err)
	}
	if ferr != nil {
		return s, fmt.Errorf("loadgen: flush: %w", ferr)
	}
	return s, nil
}
