package window

import (
	"math/rand/v2"
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
	// A late event for the handed-over window re-emits it as revision 1.
	add(4, 30*time.Second)
	parts, _ = l.Flush(now)
	if len(parts) != 1 || parts[0].Acc.n != 3 || parts[0].Revision != 1 || parts[0].LateEvents != 1 {
		t.Fatalf("revision = %+v, want the first window again with 3 events, revision 1", parts)
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
	// New records end the idleness, announced in the next heartbeat; a
	// late one for the handed-over window comes back as a revision.
	c1, _ := l.Add(0, 1, Key{ModelID: "m"}, t0.Add(10*time.Second), now.Add(3*time.Minute))
	c1.n++
	parts, hbs = l.Flush(now.Add(3 * time.Minute))
	if len(hbs) != 1 || hbs[0].Idle || len(parts) != 1 || parts[0].Revision != 1 || parts[0].Acc.n != 1 || parts[0].LateEvents != 1 {
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
// finished windows.
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
	run := func(parts int, seed uint64) map[Key]int {
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
				if j := i + r.IntN(3); j < len(es) && es[j].at-es[i].at < 5*time.Second {
					es[i], es[j] = es[j], es[i]
				}
			}
		}
		now := time.Now()
		offset := int64(0)
		out := map[Key]int{}
		collect := func() {
			ps, hbs := l1.Flush(now)
			for _, p := range ps {
				wp := p.Envelope("in", int32(parts))
				wp.Counters = map[string]float64{"n": float64(p.Acc.n)}
				offset++
				l2.Add(0, offset, wp, now)
			}
			for _, h := range hbs {
				offset++
				l2.Add(0, offset, h.Envelope("drift", "in", int32(parts)), now)
			}
			for _, f := range l2.Ready(now) {
				n := 0
				for _, p := range f.Partials {
					n += int(p.Counters["n"])
				}
				out[f.Key] = n
			}
		}
		idx := make([]int, parts)
		for done := 0; done < len(evs); {
			p := r.IntN(parts)
			if idx[p] >= len(byPart[p]) {
				continue
			}
			e := byPart[p][idx[p]]
			idx[p]++
			done++
			if c, ok := l1.Add(int32(p), int64(idx[p]), Key{Family: "drift", ModelID: e.model}, t0.Add(e.at), now); ok {
				c.n++
			}
			if r.IntN(50) == 0 {
				collect()
			}
		}
		// Close everything: every partition sees a far-future event.
		for p := 0; p < parts; p++ {
			l1.Add(int32(p), 1<<40, Key{Family: "drift", ModelID: "z"}, t0.Add(2*time.Hour), now)
		}
		collect()
		for k := range out {
			if k.ModelID == "z" {
				delete(out, k)
			}
		}
		return out
	}
	want := run(1, 1)
	total := 0
	for _, n := range want {
		total += n
	}
	if total != len(evs) || len(want) != 20 {
		t.Fatalf("single partition: %d events in %d windows, want %d in 20", total, len(want), len(evs))
	}
	for _, parts := range []int{2, 3, 7} {
		for seed := uint64(1); seed <= 3; seed++ {
			got := run(parts, seed)
			if len(got) != len(want) {
				t.Fatalf("%d partitions seed %d: %d windows, want %d", parts, seed, len(got), len(want))
			}
			for k, n := range want {
				if got[k] != n {
					t.Errorf("%d partitions seed %d: window %v has %d events, want %d", parts, seed, k, got[k], n)
				}
			}
		}
	}
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
	if got := l2.Committable(0); got != 2 {
		t.Errorf("committable after finishing = %d, want 2", got)
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
}

// A level 1 restarted from its committed offset, with no memory of what it
// handed over, ends with the same windows at level 2 (the latest partial
// per window, a newer revision replacing an older one) as one that never
// stopped: windows whose records interleave in offset order (events up to
// the out-of-orderness apart) are read again whole, not from the middle.
func TestLevel1RestartFromCommittedOffsetGivesSameWindows(t *testing.T) {
	type rec struct{ at time.Duration }
	rng := rand.New(rand.NewPCG(7, 7))
	var recs []rec
	// 25 minutes of events, against 10 minutes of retention. Not covered:
	// an event later than the out-of-orderness that arrives after a restart
	// for a window whose records all lie before the committed offset; the
	// new instance's partial of it holds fewer events than the old one's and
	// is ignored (see supersedes), so that event is missing from the window.
	for i := range 3000 {
		at := time.Duration(i)*time.Second/2 + time.Duration(rng.Int64N(int64(4*time.Second)))
		recs = append(recs, rec{at})
	}
	type final struct {
		n   int
		rev int32
	}
	run := func(l *Level1[*counter], from, to int, got map[time.Time]final) {
		now := time.Now()
		for off := from; off < to; off++ {
			if c, ok := l.Add(0, int64(off), Key{ModelID: "m"}, t0.Add(recs[off].at), now); ok {
				c.n++
			}
			parts, _ := l.Flush(now)
			for _, p := range parts {
				// Level 2's rule (supersedes): more events, or as many
				// and a revision at least as new.
				if old, ok := got[p.Key.Start]; ok && (p.Acc.n < old.n || p.Acc.n == old.n && p.Revision < old.rev) {
					continue
				}
				got[p.Key.Start] = final{p.Acc.n, p.Revision}
			}
		}
	}
	newL1 := func() *Level1[*counter] { return NewLevel1(cfg(), func(Key) *counter { return &counter{} }) }
	want := map[time.Time]final{}
	run(newL1(), 0, len(recs), want)
	for crash := 1; crash < len(recs); crash += 37 {
		got := map[time.Time]final{}
		l := newL1()
		run(l, 0, crash, got)
		from := int(l.Committable(0))
		run(newL1(), from, len(recs), got)
		for k, w := range want {
			if g := got[k]; g.n != w.n {
				t.Fatalf("crash after %d records, restart from %d: window %s has %d events, want %d",
					crash, from, k.Format("15:04:05"), g.n, w.n)
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

// Level 2 keeps, per source partition, the partial with the most events,
// the newer revision among equals: a level 1 restarted before a window
// re-reads all of it and numbers its revisions from 0 again, so revision
// alone would keep the older, smaller partial; a partial of fewer events
// (the later part of a window) never replaces a whole one.
func TestLevel2KeepsThePartialWithMostEvents(t *testing.T) {
	now := time.Now()
	part := func(count int64, rev int32) schemas.WindowPartial {
		return schemas.WindowPartial{Family: "drift", ModelID: "m", WindowStart: t0, WindowEnd: t0.Add(time.Minute),
			SourcePartition: 0, PartitionCount: 1, Watermark: t0.Add(2 * time.Minute), Count: count, Revision: rev}
	}
	for _, tt := range []struct {
		name  string
		seq   []schemas.WindowPartial
		count int64
	}{
		{"a newer revision", []schemas.WindowPartial{part(10, 0), part(12, 1)}, 12},
		{"a replay of an older revision", []schemas.WindowPartial{part(10, 0), part(12, 1), part(10, 0)}, 12},
		{"a restarted level 1's revision 0 with more events", []schemas.WindowPartial{part(10, 0), part(12, 2), part(13, 0)}, 13},
		{"the later part of a window", []schemas.WindowPartial{part(10, 1), part(4, 0)}, 10},
		{"as many events, a newer revision", []schemas.WindowPartial{part(10, 0), part(10, 1)}, 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l2 := NewLevel2("drift", cfg())
			for i, p := range tt.seq {
				l2.Add(0, int64(i), p, now)
			}
			fs := l2.Ready(now)
			if len(fs) != 1 || len(fs[0].Partials) != 1 || fs[0].Partials[0].Count != tt.count {
				t.Fatalf("ready = %+v, want the window with the partial of %d events", fs, tt.count)
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
