package window

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
)

type counter struct{ n int }

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func cfg() Config {
	return Config{Size: func(string) time.Duration { return time.Minute }, OutOfOrderness: 5 * time.Second, IdleTimeout: time.Hour, Retain: 10 * time.Minute}
}

func TestLevel1ClosesWindowWhenWatermarkPasses(t *testing.T) {
	l := NewLevel1(cfg(), func(Key) *counter { return &counter{} })
	now := time.Now()
	add := func(off int64, at time.Duration) {
		if c, ok := l.Add(0, off, Key{ModelID: "m"}, t0.Add(at), now); ok {
			c.n++
		}
	}
	add(0, 10*time.Second)
	add(1, 50*time.Second)
	add(2, 62*time.Second) // watermark 57 s: the first window is still open
	if parts, _ := l.Flush(now); len(parts) != 0 {
		t.Fatalf("handed over %d windows before the watermark passed", len(parts))
	}
	if got := l.Committable(0); got != 0 {
		t.Errorf("committable = %d, want 0 (first window open)", got)
	}
	add(3, 66*time.Second) // watermark 61 s
	parts, hbs := l.Flush(now)
	if len(parts) != 1 || parts[0].Acc.n != 2 || !parts[0].Key.Start.Equal(t0) || parts[0].Revision != 0 {
		t.Fatalf("partials = %+v, want the first window with 2 events", parts)
	}
	if len(hbs) != 1 || !hbs[0].Watermark.Equal(t0.Add(61*time.Second)) {
		t.Errorf("heartbeats = %+v", hbs)
	}
	if got := l.Committable(0); got != 2 {
		t.Errorf("committable = %d, want 2 (oldest record of the open window)", got)
	}
	// A late event for the handed-over window, whose records all lie before
	// the offset just found committable, goes out as a segment of its own:
	// extended, the window would straddle a point a restart may read from.
	add(4, 30*time.Second)
	parts, _ = l.Flush(now)
	if len(parts) != 1 || parts[0].Acc.n != 1 || parts[0].Revision != 0 || parts[0].LateEvents != 1 ||
		parts[0].FirstOffset != 4 || parts[0].LastOffset != 4 {
		t.Fatalf("late segment = %+v, want the first window's offset 4 alone, revision 0", parts)
	}
	// The next late event revises that segment: no commit lies between.
	add(5, 40*time.Second)
	parts, _ = l.Flush(now)
	if len(parts) != 1 || parts[0].Acc.n != 2 || parts[0].Revision != 1 || parts[0].LateEvents != 2 ||
		parts[0].FirstOffset != 4 || parts[0].LastOffset != 5 {
		t.Fatalf("revision = %+v, want the segment again with offsets 4-5, revision 1", parts)
	}
	if got := l.Committable(0); got != 2 {
		t.Errorf("committable = %d, want 2 (never back into the handed-over window)", got)
	}
}

// Late events for a window handed over before any commit extend it: its
// next revision holds every event, and its offset range grows.
func TestLevel1RevisesWindowBeforeACommit(t *testing.T) {
	l := NewLevel1(cfg(), func(Key) *counter { return &counter{} })
	now := time.Now()
	add := func(off int64, at time.Duration) {
		if c, ok := l.Add(0, off, Key{ModelID: "m"}, t0.Add(at), now); ok {
			c.n++
		}
	}
	add(0, 10*time.Second)
	add(1, 66*time.Second)
	if parts, _ := l.Flush(now); len(parts) != 1 || parts[0].FirstOffset != 0 || parts[0].LastOffset != 0 {
		t.Fatalf("partials = %+v, want the first window with offset 0", parts)
	}
	add(2, 30*time.Second)
	parts, _ := l.Flush(now)
	if len(parts) != 1 || parts[0].Acc.n != 2 || parts[0].Revision != 1 || parts[0].FirstOffset != 0 || parts[0].LastOffset != 2 {
		t.Fatalf("revision = %+v, want the first window with 2 events, offsets 0-2, revision 1", parts)
	}
	// The window now straddles the open one's first record: the commit
	// goes back to its first, so that a restart reads it whole.
	if got := l.Committable(0); got != 0 {
		t.Errorf("committable = %d, want 0", got)
	}
}

func TestLevel1DropsEventsPastRetention(t *testing.T) {
	l := NewLevel1(cfg(), func(Key) *counter { return &counter{} })
	now := time.Now()
	l.Add(0, 0, Key{ModelID: "m"}, t0.Add(time.Hour), now)
	if _, ok := l.Add(0, 1, Key{ModelID: "m"}, t0, now); ok {
		t.Fatal("an event older than the retention was accepted")
	}
	if l.DroppedLate(0) != 1 {
		t.Errorf("dropped = %d, want 1", l.DroppedLate(0))
	}
}

func TestLevel1IdlePartitionHandsOver(t *testing.T) {
	c := cfg()
	c.IdleTimeout = time.Second
	l := NewLevel1(c, func(Key) *counter { return &counter{} })
	now := t0.Add(time.Hour)
	l.Add(0, 0, Key{ModelID: "m"}, t0, now)
	if parts, _ := l.Flush(now); len(parts) != 0 {
		t.Fatal("handed over before the idle timeout")
	}
	// Records still waiting unread: not idle, however long it has been.
	l.Lagging(0, true)
	if parts, _ := l.Flush(now.Add(time.Minute)); len(parts) != 0 {
		t.Fatal("a lagging partition went idle")
	}
	l.Lagging(0, false)
	parts, hbs := l.Flush(now.Add(2 * time.Minute))
	if len(parts) != 1 || len(hbs) != 1 || !hbs[0].Idle {
		t.Fatalf("idle: partials %+v heartbeats %+v, want the open window handed over and an idle heartbeat", parts, hbs)
	}
	if wm := l.Watermark(0); !wm.Equal(t0.Add(-5 * time.Second)) {
		t.Errorf("watermark moved to %s while idle; it must follow event time only", wm)
	}
	// New records end the idleness, announced in the next heartbeat; one
	// for the handed-over window comes back as a revision, on time (the
	// watermark has not passed the window), so not counted as late.
	c1, _ := l.Add(0, 1, Key{ModelID: "m"}, t0.Add(10*time.Second), now.Add(3*time.Minute))
	c1.n++
	parts, hbs = l.Flush(now.Add(3 * time.Minute))
	if len(hbs) != 1 || hbs[0].Idle || len(parts) != 1 || parts[0].Revision != 1 || parts[0].Acc.n != 1 || parts[0].LateEvents != 0 {
		t.Fatalf("after idle: partials %+v heartbeats %+v", parts, hbs)
	}
}

func TestLevel2IdlePartitions(t *testing.T) {
	c := cfg()
	c.IdleTimeout = 10 * time.Second
	now := time.Now()
	setup := func() (*Level2, func(off int64, p int32, wm time.Time, idle bool, at time.Duration)) {
		l2 := NewLevel2("drift", c)
		l2.Add(0, 0, schemas.WindowPartial{Family: "drift", ModelID: "m", WindowStart: t0, WindowEnd: t0.Add(time.Minute),
			SourcePartition: 0, PartitionCount: 2, Watermark: t0}, now)
		return l2, func(off int64, p int32, wm time.Time, idle bool, at time.Duration) {
			l2.Add(0, off, schemas.WindowPartial{Family: "drift", SourcePartition: p, PartitionCount: 2, Watermark: wm, Idle: idle}, now.Add(at))
		}
	}

	// A dead partition stops holding windows once another one has been
	// active for the idle timeout.
	l2, hb := setup()
	hb(1, 0, t0, true, 0)
	hb(2, 1, t0.Add(2*time.Minute), false, 0)
	if len(l2.Ready(now.Add(time.Second))) != 0 {
		t.Fatal("skipped an idle partition before the other had been active for the idle timeout")
	}
	if fs := l2.Ready(now.Add(c.IdleTimeout)); len(fs) != 1 {
		t.Fatalf("ready = %+v, want the window once the active partition settled", fs)
	}

	// A pause of the whole input: all idle, nothing closes; when traffic
	// resumes, the first partition back does not close windows alone.
	l2, hb = setup()
	hb(1, 0, t0, true, 0)
	hb(2, 1, t0, true, 0)
	if len(l2.Ready(now.Add(time.Hour))) != 0 {
		t.Fatal("every partition idle finished a window")
	}
	hb(3, 1, t0.Add(2*time.Minute), false, time.Hour)
	if len(l2.Ready(now.Add(time.Hour+time.Second))) != 0 {
		t.Fatal("the first partition back after a pause finished a window the other may still bring events for")
	}
	hb(4, 0, t0.Add(30*time.Second), false, time.Hour+2*time.Second) // back, still behind
	if len(l2.Ready(now.Add(2*time.Hour))) != 0 {
		t.Fatal("finished a window an active partition has not passed")
	}
	hb(5, 0, t0.Add(2*time.Minute), false, 2*time.Hour)
	if fs := l2.Ready(now.Add(2 * time.Hour)); len(fs) != 1 {
		t.Fatalf("ready = %+v, want the window once both passed it", fs)
	}

	// Both pass the window and then go idle, all read in one batch: the
	// watermarks still count, idle or not.
	l2, hb = setup()
	hb(1, 0, t0.Add(2*time.Minute), false, 0)
	hb(2, 1, t0.Add(2*time.Minute), false, 0)
	hb(3, 0, t0.Add(2*time.Minute), true, 0)
	hb(4, 1, t0.Add(2*time.Minute), true, 0)
	if fs := l2.Ready(now); len(fs) != 1 {
		t.Fatalf("ready = %+v, want the window both watermarks passed before going idle", fs)
	}
}

// Any partitioning and interleaving of the same events gives the same
// finished windows, though both levels restart at random points (from the
// last offset they found committable, or from an older one, as after a
// failed commit) and late events, past the out-of-orderness but within
// lateness plus retention, keep coming for windows handed over before the
// restart point. The store's newest revision of a window never holds fewer
// events than an older one.
func TestLevel2SameResultForAnyPartitioning(t *testing.T) {
	type ev struct {
		at    time.Duration
		model string
	}
	var evs []ev
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		evs = append(evs, ev{time.Duration(r.IntN(600)) * time.Second, []string{"a", "b"}[r.IntN(2)]})
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	// One event in 20 arrives 90 s to 5 min late: its window has been
	// handed over, but it is within the 10 min of retention (cfg).
	for i := 0; i < len(evs); i++ {
		if r.IntN(20) != 0 {
			continue
		}
		e := evs[i]
		j := i
		for j+1 < len(evs) && evs[j+1].at < e.at+90*time.Second+time.Duration(r.IntN(210))*time.Second {
			j++
		}
		copy(evs[i:j], evs[i+1:j+1])
		evs[j] = e
	}
	type final struct {
		n   int
		rev int32
	}
	var crashed, segmented int // over all runs, for the test's own coverage
	run := func(parts int, seed uint64, restarts bool) map[Key]int {
		r := rand.New(rand.NewPCG(seed, 3))
		l1 := NewLevel1(cfg(), func(Key) *counter { return &counter{} })
		l2 := NewLevel2("drift", cfg())
		byPart := make([][]ev, parts)
		for _, e := range evs {
			p := r.IntN(parts)
			byPart[p] = append(byPart[p], e)
		}
		for _, es := range byPart { // bounded disorder within a partition
			for i := range es {
				if j := i + r.IntN(3); j < len(es) && es[j].at-es[i].at < 5*time.Second && es[j].at-es[i].at > -5*time.Second {
					es[i], es[j] = es[j], es[i]
				}
			}
		}
		now := time.Now()
		var log []schemas.WindowPartial   // the partials topic
		read, committed2 := 0, int64(0)   // level 2's position and commit in it
		out := map[Key]final{}            // the store: the newest revision of each window
		committed := make([]int64, parts) // per partition, where a restart reads from
		collect := func() {
			ps, hbs := l1.Flush(now)
			for _, p := range ps {
				wp := p.Envelope("in", int32(parts))
				wp.Count = int64(p.Acc.n)
				wp.Counters = map[string]float64{"n": float64(p.Acc.n)}
				log = append(log, wp)
			}
			for _, h := range hbs {
				log = append(log, h.Envelope("drift", "in", int32(parts)))
			}
			if restarts && r.IntN(20) == 0 {
				// Level 2 crashes (or the partials partition moves): its
				// successor reads from the committed offset with no
				// memory of the windows it finished.
				l2, read = NewLevel2("drift", cfg()), int(committed2)
				crashed++
			}
			for ; read < len(log); read++ {
				l2.Add(0, int64(read), log[read], now)
			}
			for _, f := range l2.Ready(now) {
				n := 0
				seen := map[int32]bool{}
				for _, p := range f.Partials {
					n += int(p.Counters["n"])
					if seen[p.SourcePartition] && restarts {
						segmented++
					}
					seen[p.SourcePartition] = true
				}
				// The store keeps the newest revision, the later of
				// equals. A window read again by a restarted level 2
				// goes out again under the same revisions; a restarted
				// level 1's first partials may hold fewer events than
				// the old ones, and the window must not go out short
				// meanwhile.
				old, ok := out[f.Key]
				if ok && f.Revision < old.rev {
					continue
				}
				if ok && n < old.n {
					t.Fatalf("window %v went out as revision %d with %d events after revision %d with %d", f.Key, f.Revision, n, old.rev, old.n)
				}
				out[f.Key] = final{n, f.Revision}
			}
			// The commits after the flush; one in four fails, and the
			// next restart reads from the previous one.
			if c := l2.Committable(0); c >= 0 && (!restarts || r.IntN(4) != 0) {
				committed2 = c
			}
			for p := range parts {
				if c := l1.Committable(int32(p)); c >= 0 && (!restarts || r.IntN(4) != 0) {
					committed[p] = c
				}
			}
		}
		idx := make([]int, parts)
		left, crashes := len(evs), 0
		for left > 0 {
			p := r.IntN(parts)
			if restarts && crashes < 10 && r.IntN(250) == 0 {
				crashes++
				crashed++
				// The partition's instance crashes (or the partition moves):
				// its successor reads from the committed offset with no
				// memory of what was handed over.
				l1.Revoke(int32(p))
				left += idx[p] - int(committed[p])
				idx[p] = int(committed[p])
				continue
			}
			if idx[p] >= len(byPart[p]) {
				continue
			}
			e := byPart[p][idx[p]]
			if c, ok := l1.Add(int32(p), int64(idx[p]), Key{Family: "drift", ModelID: e.model}, t0.Add(e.at), now); ok {
				c.n++
			} else {
				t.Fatalf("event %v of partition %d dropped as too late", e, p)
			}
			idx[p]++
			left--
			if r.IntN(50) == 0 {
				collect()
			}
		}
		// Close everything: every partition sees a far-future event.
		for p := 0; p < parts; p++ {
			l1.Add(int32(p), int64(len(byPart[p])), Key{Family: "drift", ModelID: "z"}, t0.Add(2*time.Hour), now)
		}
		collect()
		res := map[Key]int{}
		for k, f := range out {
			if k.ModelID != "z" {
				res[k] = f.n
			}
		}
		return res
	}
	want := run(1, 1, false)
	total := 0
	for _, n := range want {
		total += n
	}
	if total != len(evs) || len(want) != 20 {
		t.Fatalf("single partition: %d events in %d windows, want %d in 20", total, len(want), len(evs))
	}
	for _, parts := range []int{1, 2, 3, 7} {
		for seed := uint64(1); seed <= 6; seed++ {
			for _, restarts := range []bool{false, true} {
				if parts == 1 && !restarts {
					continue
				}
				got := run(parts, seed, restarts)
				if len(got) != len(want) {
					t.Fatalf("%d partitions seed %d restarts %v: %d windows, want %d", parts, seed, restarts, len(got), len(want))
				}
				for k, n := range want {
					if got[k] != n {
						t.Errorf("%d partitions seed %d restarts %v: window %s %s has %d events, want %d",
							parts, seed, restarts, k.ModelID, k.Start.Format("15:04"), got[k], n)
					}
				}
			}
		}
	}
	if crashed < 50 || segmented < 50 {
		t.Errorf("%d restarts, %d windows merged from several partials of one source partition: too few to cover late events after a restart", crashed, segmented)
	}
	t.Logf("%d restarts, %d windows merged from several partials of one source partition", crashed, segmented)
}

func TestLevel2WaitsForEveryPartition(t *testing.T) {
	now := time.Now()
	l2 := NewLevel2("drift", cfg())
	p := schemas.WindowPartial{Family: "drift", ModelID: "m", WindowStart: t0, WindowEnd: t0.Add(time.Minute),
		SourcePartition: 0, PartitionCount: 2, Watermark: t0.Add(2 * time.Minute)}
	l2.Add(0, 0, p, now)
	if len(l2.Ready(now)) != 0 {
		t.Fatal("finished a window partition 1 has not passed")
	}
	if got := l2.Committable(0); got != 0 {
		t.Errorf("committable = %d, want 0", got)
	}
	// A heartbeat read from another partials partition may have overtaken
	// partials still in flight on this one: it must not close the window.
	l2.Add(1, 0, schemas.WindowPartial{Family: "drift", SourcePartition: 1, PartitionCount: 2, Watermark: t0.Add(time.Minute)}, now)
	// Another family's heartbeat says nothing about this family's windows.
	l2.Add(0, 1, schemas.WindowPartial{Family: "performance", SourcePartition: 1, PartitionCount: 2, Watermark: t0.Add(time.Hour)}, now)
	if len(l2.Ready(now)) != 0 {
		t.Fatal("a heartbeat on another partials partition finished the window")
	}
	if len(l2.Ready(now)) != 0 {
		t.Fatal("another family's heartbeat finished the window")
	}
	l2.Add(0, 1, schemas.WindowPartial{Family: "drift", SourcePartition: 1, PartitionCount: 2, Watermark: t0.Add(time.Minute)}, now)
	if fs := l2.Ready(now); len(fs) != 1 || len(fs[0].Partials) != 1 {
		t.Fatalf("ready = %+v, want the window with partition 0's partial", fs)
	}
	// Finished, the window is kept for late partials, and a restart must
	// read it again whole.
	if got := l2.Committable(0); got != 0 {
		t.Errorf("committable after finishing = %d, want 0 (the window's first partial)", got)
	}
	// A newer revision from partition 0 re-finishes the window as revision 1;
	// a replay of the older revision changes nothing.
	p.Revision, p.Count = 1, 5
	l2.Add(0, 2, p, now)
	old := p
	old.Revision, old.Count = 0, 1
	l2.Add(0, 3, old, now)
	fs := l2.Ready(now)
	if len(fs) != 1 || fs[0].Revision != 1 || fs[0].Partials[0].Count != 5 {
		t.Fatalf("revision = %+v", fs)
	}
	// Past its retention, the window is dropped and no longer holds the
	// commit back.
	l2.Add(0, 4, schemas.WindowPartial{Family: "drift", SourcePartition: 0, PartitionCount: 2, Watermark: t0.Add(time.Hour)}, now)
	l2.Add(0, 5, schemas.WindowPartial{Family: "drift", SourcePartition: 1, PartitionCount: 2, Watermark: t0.Add(time.Hour)}, now)
	if fs := l2.Ready(now); len(fs) != 0 {
		t.Fatalf("ready = %+v after retention", fs)
	}
	if got := l2.Committable(0); got != 6 {
		t.Errorf("committable after retention = %d, want 6", got)
	}
}

// A level 1 restarted from its committed offset, with no memory of what it
// handed over, ends with the same windows at level 2 as one that never
// stopped: windows whose records interleave in offset order (events up to
// the out-of-orderness apart) are read again whole, not from the middle,
// and late events for windows handed over before the restart point go out
// as partials of their own, which level 2 adds to the old ones.
func TestLevel1RestartFromCommittedOffsetGivesSameWindows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	// 25 minutes of events, against 10 minutes of retention; one in 25
	// comes 90 s to 5 min late.
	var recs []time.Duration
	for i := range 3000 {
		at := time.Duration(i)*time.Second/2 + time.Duration(rng.Int64N(int64(4*time.Second)))
		if rng.IntN(25) == 0 {
			at -= 90*time.Second + time.Duration(rng.Int64N(int64(210*time.Second)))
		}
		recs = append(recs, at)
	}
	recs = append(recs, 2*time.Hour) // closes every window before it
	newL1 := func() *Level1[*counter] { return NewLevel1(cfg(), func(Key) *counter { return &counter{} }) }
	type run struct {
		l2      *Level2
		poff    int64
		commit  int64 // the last offset level 1 found committable
		windows map[time.Time]int64
	}
	// feed reads records [from, to) into l, flushing and committing every
	// 20 records as a consumer loop does after each poll.
	feed := func(r *run, l *Level1[*counter], from, to int) {
		now := time.Now()
		for off := from; off < to; off++ {
			if c, ok := l.Add(0, int64(off), Key{Family: "drift", ModelID: "m"}, t0.Add(recs[off]), now); ok {
				c.n++
			}
			if off%20 != 19 && off != to-1 {
				continue
			}
			parts, hbs := l.Flush(now)
			for _, p := range parts {
				wp := p.Envelope("in", 1)
				wp.Count = int64(p.Acc.n)
				r.l2.Add(0, r.poff, wp, now)
				r.poff++
			}
			for _, h := range hbs {
				r.l2.Add(0, r.poff, h.Envelope("drift", "in", 1), now)
				r.poff++
			}
			for _, f := range r.l2.Ready(now) {
				var n int64
				for _, p := range f.Partials {
					n += p.Count
				}
				r.windows[f.Key.Start] = n
			}
			r.commit = l.Committable(0)
		}
	}
	newRun := func() *run { return &run{l2: NewLevel2("drift", cfg()), windows: map[time.Time]int64{}} }
	want := newRun()
	feed(want, newL1(), 0, len(recs))
	var total int64
	for _, n := range want.windows {
		total += n
	}
	if total != int64(len(recs)-1) {
		t.Fatalf("the uninterrupted run counted %d events, want %d", total, len(recs)-1)
	}
	for crash := 1; crash < len(recs); crash += 37 {
		got := newRun()
		feed(got, newL1(), 0, crash)
		from := int(got.commit)
		feed(got, newL1(), from, len(recs))
		for k, w := range want.windows {
			if g := got.windows[k]; g != w {
				t.Fatalf("crash after %d records, restart from %d: window %s has %d events, want %d",
					crash, from, k.Format("15:04:05"), g, w)
			}
		}
	}
}

// A level 2 restarted from its committed offset, with no memory of the
// windows it finished, ends with the same windows (the newest revision of
// each, a tie going to the later) as one that never stopped, though the
// partials of neighbouring windows interleave on the partials partition.
func TestLevel2RestartFromCommittedOffsetGivesSameWindows(t *testing.T) {
	const sources, windows = 3, 40
	rng := rand.New(rand.NewPCG(3, 9))
	// Each source partition sends, window after window, its partial and
	// then a heartbeat passing the window; the partials partition
	// interleaves the three sequences at random.
	var seqs [sources][]schemas.WindowPartial
	for p := range sources {
		for w := range windows {
			start := t0.Add(time.Duration(w) * time.Minute)
			end := start.Add(time.Minute)
			seqs[p] = append(seqs[p],
				schemas.WindowPartial{Family: "drift", ModelID: "m", WindowStart: start, WindowEnd: end, SourcePartition: int32(p),
					PartitionCount: sources, Watermark: end.Add(-time.Second), Count: 1 + rng.Int64N(100)},
				schemas.WindowPartial{Family: "drift", SourcePartition: int32(p), PartitionCount: sources, Watermark: end})
		}
	}
	var log []schemas.WindowPartial
	var next [sources]int
	for len(log) < sources*windows*2 {
		p := rng.IntN(sources)
		if next[p] < len(seqs[p]) {
			log = append(log, seqs[p][next[p]])
			next[p]++
		}
	}
	type final struct {
		n   int64
		rev int32
	}
	run := func(l *Level2, from, to int, got map[time.Time]final) {
		now := time.Now()
		for off := from; off < to; off++ {
			l.Add(0, int64(off), log[off], now)
			for _, f := range l.Ready(now) {
				var n int64
				for _, p := range f.Partials {
					n += p.Count
				}
				if old, ok := got[f.Key.Start]; ok && old.rev > f.Revision {
					continue // ReplacingMergeTree keeps the newest revision
				}
				got[f.Key.Start] = final{n, f.Revision}
			}
		}
	}
	want := map[time.Time]final{}
	run(NewLevel2("drift", cfg()), 0, len(log), want)
	if len(want) != windows {
		t.Fatalf("the uninterrupted run finished %d windows, want %d", len(want), windows)
	}
	for crash := 1; crash < len(log); crash += 5 {
		got := map[time.Time]final{}
		l := NewLevel2("drift", cfg())
		run(l, 0, crash, got)
		from := int(l.Committable(0))
		run(NewLevel2("drift", cfg()), from, len(log), got)
		for k, w := range want {
			if g := got[k]; g.n != w.n {
				t.Fatalf("crash after %d partials, restart from %d: window %s merged %d events, want %d",
					crash, from, k.Format("15:04"), g.n, w.n)
			}
		}
	}
}

// Level 2 keeps, per source partition, the partials of disjoint offset
// ranges side by side, and a partial overlapping kept ones takes their
// place, merging from the old ones while they hold more events (a level 1
// restarted before them reads their records again). Partials without
// offsets (-1, from writers before them) follow the rule from before:
// the partial with the most events, the newer revision among equals,
// since a level 1 restarted before a window re-reads all of it and
// numbers its revisions from 0 again.
func TestLevel2KeepsPartialsOfDisjointOffsets(t *testing.T) {
	now := time.Now()
	type part struct {
		first, last int64
		count       int64
		rev         int32
	}
	ps := func(ps ...part) []part { return ps }
	for _, tt := range []struct {
		name string
		seq  []part
		want []part // merged, by first offset
	}{
		// Without offsets.
		{"a newer revision", ps(part{-1, -1, 10, 0}, part{-1, -1, 12, 1}), ps(part{-1, -1, 12, 1})},
		{"a replay of an older revision", ps(part{-1, -1, 10, 0}, part{-1, -1, 12, 1}, part{-1, -1, 10, 0}), ps(part{-1, -1, 12, 1})},
		{"a restarted level 1's revision 0 with more events", ps(part{-1, -1, 10, 0}, part{-1, -1, 12, 2}, part{-1, -1, 13, 0}), ps(part{-1, -1, 13, 0})},
		{"the later part of a window", ps(part{-1, -1, 10, 1}, part{-1, -1, 4, 0}), ps(part{-1, -1, 10, 1})},
		{"as many events, a newer revision", ps(part{-1, -1, 10, 0}, part{-1, -1, 10, 1}), ps(part{-1, -1, 10, 1})},
		{"an old writer's, then a new writer's with fewer events", ps(part{-1, -1, 40, 0}, part{200, 200, 1, 0}), ps(part{-1, -1, 40, 0})},
		{"an old writer's, then a new writer's with more", ps(part{-1, -1, 40, 0}, part{10, 60, 41, 1}), ps(part{10, 60, 41, 1})},
		// With offsets.
		{"a newer revision of the same records and more", ps(part{10, 50, 40, 0}, part{10, 60, 41, 1}), ps(part{10, 60, 41, 1})},
		{"a late event after a restart", ps(part{10, 50, 40, 2}, part{200, 200, 1, 0}), ps(part{10, 50, 40, 2}, part{200, 200, 1, 0})},
		{"its next revision", ps(part{10, 50, 40, 2}, part{200, 200, 1, 0}, part{200, 210, 2, 1}),
			ps(part{10, 50, 40, 2}, part{200, 210, 2, 1})},
		{"a restart before both", ps(part{10, 50, 40, 2}, part{200, 200, 1, 0}, part{10, 200, 41, 0}), ps(part{10, 200, 41, 0})},
		{"a replay of an older revision, merged from the newer", ps(part{10, 50, 40, 0}, part{10, 60, 41, 1}, part{10, 50, 40, 0}),
			ps(part{10, 60, 41, 1})},
		{"a restarted level 1 catching up", ps(part{10, 60, 41, 1}, part{10, 40, 30, 0}, part{10, 60, 41, 1}), ps(part{10, 60, 41, 1})},
		// The old instance's window 10-60 held 30 events up to 40 and 11
		// from 55; the new one cut it at 50 and has two more events.
		{"a restarted level 1 cutting elsewhere", ps(part{10, 60, 41, 1}, part{10, 40, 30, 0}, part{55, 70, 13, 0}),
			ps(part{10, 40, 30, 0}, part{55, 70, 13, 0})},
		{"a restarted level 1 cutting elsewhere, not caught up", ps(part{10, 60, 41, 1}, part{10, 40, 30, 0}, part{55, 58, 5, 0}),
			ps(part{10, 60, 41, 1})},
		// Not spanning the old partial, more events do not replace it.
		{"a partial overlapping in part", ps(part{10, 60, 41, 1}, part{55, 80, 50, 0}), ps(part{10, 60, 41, 1})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l2 := NewLevel2("drift", cfg())
			for i, p := range tt.seq {
				l2.Add(0, int64(i), schemas.WindowPartial{Family: "drift", ModelID: "m", WindowStart: t0, WindowEnd: t0.Add(time.Minute),
					SourcePartition: 0, PartitionCount: 1, Watermark: t0.Add(2 * time.Minute), Count: p.count, Revision: p.rev,
					FirstOffset: p.first, LastOffset: p.last}, now)
			}
			fs := l2.Ready(now)
			if len(fs) != 1 {
				t.Fatalf("ready = %+v, want the window", fs)
			}
			var got []part
			for _, p := range fs[0].Partials {
				got = append(got, part{p.FirstOffset, p.LastOffset, p.Count, p.Revision})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("merged from %v, want %v", got, tt.want)
			}
		})
	}
}

// The late-event gap: level 1 hands a window over and commits past all of
// its records; it restarts, and a late event for the window follows. The
// new instance has no state for it and hands over a partial of that event
// alone. Level 2 must add it to the whole partial, not keep either one.
func TestLateEventAfterRestartIsCounted(t *testing.T) {
	now := time.Now()
	var l2 *Level2
	var poff int64
	var got map[Key]int64
	publish := func(l *Level1[*counter]) {
		parts, hbs := l.Flush(now)
		for _, p := range parts {
			wp := p.Envelope("in", 1)
			wp.Count = int64(p.Acc.n)
			l2.Add(0, poff, wp, now)
			poff++
		}
		for _, h := range hbs {
			l2.Add(0, poff, h.Envelope("drift", "in", 1), now)
			poff++
		}
		for _, f := range l2.Ready(now) {
			var n int64
			for _, p := range f.Partials {
				n += p.Count
			}
			got[f.Key] = n
		}
	}
	add := func(l *Level1[*counter], off int64, at time.Duration) {
		if c, ok := l.Add(0, off, Key{Family: "drift", ModelID: "m"}, t0.Add(at), now); ok {
			c.n++
		}
	}
	w := Key{Family: "drift", ModelID: "m", Start: t0, End: t0.Add(time.Minute)}
	for _, tt := range []struct {
		name string
		late []time.Duration // late events for w after the restart
		want int64
	}{
		{"one late event", []time.Duration{40 * time.Second}, 4},
		{"two late events", []time.Duration{40 * time.Second, 50 * time.Second}, 5},
		{"none", nil, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l2, poff, got = NewLevel2("drift", cfg()), 0, map[Key]int64{}
			a := NewLevel1(cfg(), func(Key) *counter { return &counter{} })
			add(a, 0, 10*time.Second)
			add(a, 1, 20*time.Second)
			add(a, 2, 30*time.Second)
			add(a, 3, 70*time.Second) // the watermark passes w
			publish(a)
			if got[w] != 3 {
				t.Fatalf("before the restart: %d events, want 3", got[w])
			}
			from := a.Committable(0)
			if from != 3 {
				t.Fatalf("committable = %d, want 3 (after all of w)", from)
			}
			b := NewLevel1(cfg(), func(Key) *counter { return &counter{} })
			add(b, 3, 70*time.Second)
			off := int64(4)
			for _, at := range tt.late {
				add(b, off, at)
				off++
				publish(b)
			}
			add(b, off, 130*time.Second)
			publish(b)
			if got[w] != tt.want {
				t.Errorf("after the restart: %d events, want %d", got[w], tt.want)
			}
		})
	}
}

// Level 2 commits past heartbeats, so an instance taking a partials
// partition over would never hear from a partition whose input has ended:
// level 1 repeats an unchanged heartbeat every HeartbeatEvery, and only then.
func TestLevel1RepeatsUnchangedHeartbeat(t *testing.T) {
	l := NewLevel1(cfg(), func(Key) *counter { return &counter{} })
	now := time.Now()
	l.Add(0, 0, Key{ModelID: "m"}, t0.Add(30*time.Second), now)
	if _, hbs := l.Flush(now); len(hbs) != 1 {
		t.Fatalf("first flush: heartbeats %+v, want one", hbs)
	}
	for _, tc := range []struct {
		after time.Duration
		want  int
	}{
		{time.Second, 0},
		{HeartbeatEvery - time.Millisecond, 0},
		{HeartbeatEvery, 1},
		{HeartbeatEvery + time.Second, 0}, // counted from the repeat
		{2 * HeartbeatEvery, 1},
	} {
		_, hbs := l.Flush(now.Add(tc.after))
		if len(hbs) != tc.want {
			t.Fatalf("%s after the first: %d heartbeats, want %d", tc.after, len(hbs), tc.want)
		}
		if tc.want == 1 && !hbs[0].Watermark.Equal(t0.Add(25*time.Second)) {
			t.Errorf("repeated heartbeat %+v, want the unchanged watermark", hbs[0])
		}
	}
}

// An idle partition hands its open windows over early; the events that
// come for them afterwards go out as revisions, but they are on time and
// not counted as late, unlike events behind the watermark.
func TestLevel1EventsAfterIdleHandoverAreNotLate(t *testing.T) {
	c := cfg()
	c.IdleTimeout = time.Second
	l := NewLevel1(c, func(Key) *counter { return &counter{} })
	now := time.Now()
	add := func(off int64, at time.Duration) {
		t.Helper()
		if n, ok := l.Add(0, off, Key{ModelID: "m"}, t0.Add(at), now); ok {
			n.n++
		}
	}
	add(0, 10*time.Second)
	now = now.Add(2 * time.Second)
	parts, hbs := l.Flush(now)
	if len(parts) != 1 || len(hbs) != 1 || !hbs[0].Idle {
		t.Fatalf("idle: partials %+v heartbeats %+v, want the window handed over and an idle heartbeat", parts, hbs)
	}
	for _, s := range []struct {
		name       string
		off        int64
		at         time.Duration
		n          int
		lateEvents int64
	}{
		{"an event on time after the idle handover", 1, 20 * time.Second, 2, 0},
		{"the watermark passes the window", 2, 70 * time.Second, 0, 0},
		{"an event behind the watermark", 3, 30 * time.Second, 3, 1},
	} {
		add(s.off, s.at)
		parts, _ = l.Flush(now)
		var got *Partial[*counter]
		for i := range parts {
			if parts[i].Key.Start.Equal(t0) {
				got = &parts[i]
			}
		}
		switch {
		case s.n == 0 && got != nil:
			t.Errorf("%s: the first window went out again: %+v", s.name, *got)
		case s.n > 0 && (got == nil || got.Acc.n != s.n || got.LateEvents != s.lateEvents):
			t.Errorf("%s: partial %+v, want %d events of which %d late", s.name, got, s.n, s.lateEvents)
		}
	}
}

// A window finished while an idle partition was excused goes out once more,
// under the next revision, when every partition has passed it, if the
// family asks for it (the labeler: labels of the idle partition may still
// come within the horizon); otherwise it stays finished.
func TestLevel2RecomputesWindowFinishedWithIdlePartition(t *testing.T) {
	for _, recompute := range []bool{true, false} {
		c := cfg()
		c.IdleTimeout = 10 * time.Second
		c.RecomputeAfterIdle = recompute
		now := time.Now()
		l2 := NewLevel2("performance", c)
		l2.Add(0, 0, schemas.WindowPartial{Family: "performance", ModelID: "m", WindowStart: t0, WindowEnd: t0.Add(time.Minute),
			SourcePartition: 1, PartitionCount: 2, Watermark: t0, FirstOffset: 5, LastOffset: 9}, now)
		hb := func(off int64, p int32, wm time.Time, idle bool, at time.Duration) {
			l2.Add(0, off, schemas.WindowPartial{Family: "performance", SourcePartition: p, PartitionCount: 2, Watermark: wm, Idle: idle}, now.Add(at))
		}
		hb(1, 0, t0, true, 0)                     // idle, behind the window
		hb(2, 1, t0.Add(2*time.Minute), false, 0) // active, past it
		fs := l2.Ready(now.Add(c.IdleTimeout))
		if len(fs) != 1 || fs[0].Revision != 0 {
			t.Fatalf("recompute %v: ready = %+v, want the window at revision 0 with the idle partition excused", recompute, fs)
		}
		if fs := l2.Ready(now.Add(c.IdleTimeout + time.Second)); len(fs) != 0 {
			t.Fatalf("recompute %v: the window went out again before the idle partition passed it: %+v", recompute, fs)
		}
		hb(3, 0, t0.Add(2*time.Minute), false, time.Minute) // back, past the window
		fs = l2.Ready(now.Add(time.Minute))
		switch {
		case recompute && (len(fs) != 1 || fs[0].Revision != 1 || len(fs[0].Partials) != 1):
			t.Fatalf("ready = %+v, want the window again at revision 1 once every partition passed it", fs)
		case !recompute && len(fs) != 0:
			t.Fatalf("without RecomputeAfterIdle the window went out again: %+v", fs)
		}
		if fs := l2.Ready(now.Add(2 * time.Minute)); len(fs) != 0 {
			t.Fatalf("recompute %v: the window went out a third time: %+v", recompute, fs)
		}
	}
}

// A partition assigned to this instance is known before its first record:
// the next heartbeat says it is active (where level 2 may still hold its
// last owner's "idle"), and one that never sees a record reports itself
// idle after the idle timeout instead of holding every window open.
func TestLevel1AssignedPartitionReports(t *testing.T) {
	c := cfg()
	c.IdleTimeout = time.Second
	l := NewLevel1(c, func(Key) *counter { return &counter{} })
	now := time.Now()
	l.Assign(now, 2)
	_, hbs := l.Flush(now)
	if len(hbs) != 1 || hbs[0].Partition != 2 || hbs[0].Idle || !hbs[0].Watermark.IsZero() {
		t.Fatalf("after Assign: heartbeats %+v, want partition 2 active with no watermark", hbs)
	}
	_, hbs = l.Flush(now.Add(2 * time.Second))
	if len(hbs) != 1 || !hbs[0].Idle {
		t.Fatalf("after the idle timeout: heartbeats %+v, want partition 2 idle", hbs)
	}
	// Assigned again while known (a cooperative rebalance that keeps it):
	// nothing to announce.
	l.Assign(now.Add(3*time.Second), 2)
	if _, hbs = l.Flush(now.Add(3 * time.Second)); len(hbs) != 0 {
		t.Fatalf("re-assigning a known partition sent %+v", hbs)
	}
}
