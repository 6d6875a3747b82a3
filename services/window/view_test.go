package window

import (
	"strings"
	"testing"
	"time"

	"github.com/driftline/driftline/schemas"
)

func TestParseViews(t *testing.T) {
	for _, tc := range []struct {
		in   string
		size time.Duration
		want string // the views' String, comma separated
		err  string
	}{
		{in: "", size: 5 * time.Minute, want: ""},
		{in: "none", size: 5 * time.Minute, want: ""},
		{in: "1h, 24h,1h/5m", size: 5 * time.Minute, want: "1h,24h,1h/5m"},
		{in: "1h,1h0m", size: 5 * time.Minute, want: "1h"},
		{in: "90m/15m", size: 15 * time.Minute, want: "1h30m/15m"},
		{in: "1h", size: time.Hour, err: "not longer than the window size"},
		{in: "1h", size: 7 * time.Minute, err: "not a whole number of 7m windows"},
		{in: "1h/7m", size: 2 * time.Minute, err: "every 7m is not a whole number of 2m windows"},
		{in: "1h/2h", size: time.Minute, err: "not between 0 and the span"},
		{in: "1h/0s", size: time.Minute, err: "every 0s is not between 0 and the span 1h"},
		{in: "hour", size: time.Minute, err: "span"},
		{in: "1h/x", size: time.Minute, err: "every"},
		{in: "1h,", size: time.Minute, err: "span"},
	} {
		vs, err := ParseViews(tc.in, tc.size)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseViews(%q, %s) = %v, %v; want an error with %q", tc.in, tc.size, vs, err, tc.err)
			}
			continue
		}
		var got []string
		for _, v := range vs {
			got = append(got, v.String())
		}
		if err != nil || strings.Join(got, ",") != tc.want {
			t.Errorf("ParseViews(%q, %s) = %q, %v; want %q", tc.in, tc.size, got, err, tc.want)
		}
	}
}

func TestDefaultViews(t *testing.T) {
	for size, want := range map[time.Duration]string{
		5 * time.Minute:  "1h,24h,1h/5m",
		7 * time.Minute:  "",
		30 * time.Minute: "1h,24h,1h/30m",
		time.Hour:        "24h",
	} {
		var got []string
		for _, v := range DefaultViews(size) {
			got = append(got, v.String())
		}
		if strings.Join(got, ",") != want {
			t.Errorf("DefaultViews(%s) = %q, want %q", size, got, want)
		}
	}
}

func TestViewContaining(t *testing.T) {
	w := func(start string, size time.Duration) Key {
		s, err := time.Parse("15:04", start)
		if err != nil {
			t.Fatal(err)
		}
		s = t0.Truncate(24 * time.Hour).Add(s.Sub(s.Truncate(24 * time.Hour)))
		return Key{ModelID: "m", Start: s, End: s.Add(size)}
	}
	span := func(ks []Key) string {
		var out []string
		for _, k := range ks {
			out = append(out, k.Start.Format("15:04")+"-"+k.End.Format("15:04"))
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		v    View
		k    Key
		want string
	}{
		{View{time.Hour, time.Hour}, w("10:00", 5*time.Minute), "10:00-11:00"},
		{View{time.Hour, time.Hour}, w("10:55", 5*time.Minute), "10:00-11:00"},
		{View{24 * time.Hour, 24 * time.Hour}, w("23:55", 5*time.Minute), "00:00-00:00"},
		{View{time.Hour, 5 * time.Minute}, w("10:55", 5*time.Minute),
			"10:00-11:00 10:05-11:05 10:10-11:10 10:15-11:15 10:20-11:20 10:25-11:25 10:30-11:30 10:35-11:35 10:40-11:40 10:45-11:45 10:50-11:50 10:55-11:55"},
		{View{time.Hour, 30 * time.Minute}, w("10:25", 5*time.Minute), "09:30-10:30 10:00-11:00"},
		{View{time.Hour, 30 * time.Minute}, w("10:30", 30*time.Minute), "10:00-11:00 10:30-11:30"},
	} {
		got := tc.v.Containing(tc.k)
		if span(got) != tc.want {
			t.Errorf("%s.Containing(%s) = %s, want %s", tc.v, span([]Key{tc.k}), span(got), tc.want)
		}
		for _, vk := range got {
			if vk.ModelID != tc.k.ModelID || vk.End.Sub(vk.Start) != tc.v.Span || vk.Start.After(tc.k.Start) || vk.End.Before(tc.k.End) {
				t.Errorf("%s: instance %+v does not hold window %+v", tc.v, vk, tc.k)
			}
		}
	}
}

// A view instance goes out once every source partition has passed its end
// (plus the lateness), not before; once for all the windows of it that
// went out by then, and again when a late partial revises one of them.
func TestLevel2Views(t *testing.T) {
	c := cfg() // one-minute windows
	c.Views = []View{{5 * time.Minute, 5 * time.Minute}}
	l2 := NewLevel2("drift", c)
	now := time.Now()
	var off int64
	add := func(p schemas.WindowPartial) {
		p.Family, p.PartitionCount = "drift", 2
		l2.Add(0, off, p, now)
		off++
	}
	partial := func(src int32, start time.Time, first, last int64) {
		add(schemas.WindowPartial{ModelID: "m", Variant: "production", WindowStart: start, WindowEnd: start.Add(time.Minute),
			SourcePartition: src, Count: last - first + 1, FirstOffset: first, LastOffset: last, Watermark: start})
	}
	heartbeat := func(src int32, wm time.Time) { add(schemas.WindowPartial{SourcePartition: src, Watermark: wm}) }
	for i := range 5 {
		partial(0, t0.Add(time.Duration(i)*time.Minute), int64(10*i), int64(10*i+4))
		partial(1, t0.Add(time.Duration(i)*time.Minute), int64(10*i), int64(10*i+4))
	}
	heartbeat(0, t0.Add(5*time.Minute))
	heartbeat(1, t0.Add(4*time.Minute+30*time.Second))
	if fs := l2.Ready(now); len(fs) != 4 {
		t.Fatalf("%d windows ready, want the first 4", len(fs))
	}
	if vs := l2.Views(now); len(vs) != 0 {
		t.Fatalf("views %+v ready before partition 1 passed their end", vs)
	}
	heartbeat(1, t0.Add(5*time.Minute))
	if fs := l2.Ready(now); len(fs) != 1 {
		t.Fatalf("%d windows ready, want the fifth", len(fs))
	}
	vs := l2.Views(now)
	if len(vs) != 1 || !vs[0].Start.Equal(t0) || !vs[0].End.Equal(t0.Add(5*time.Minute)) || vs[0].ModelID != "m" ||
		vs[0].Variant != "production" || vs[0].Family != "drift" {
		t.Fatalf("views = %+v, want the one of 10:00-10:05", vs)
	}
	if vs := l2.Views(now); len(vs) != 0 {
		t.Fatalf("the view went out twice: %+v", vs)
	}
	partial(1, t0.Add(2*time.Minute), 25, 25) // a late event of source partition 1
	if fs := l2.Ready(now); len(fs) != 1 || fs[0].Revision != 2 {
		t.Fatalf("ready = %+v, want the window of 10:02 revised", fs)
	}
	if vs := l2.Views(now); len(vs) != 1 || !vs[0].Start.Equal(t0) {
		t.Fatalf("views after a late partial = %+v, want 10:00-10:05 again", vs)
	}
	// A window of the next view goes out; its view waits for its end.
	partial(0, t0.Add(5*time.Minute), 50, 52)
	partial(1, t0.Add(5*time.Minute), 50, 52)
	heartbeat(0, t0.Add(6*time.Minute))
	heartbeat(1, t0.Add(6*time.Minute))
	if fs := l2.Ready(now); len(fs) != 1 {
		t.Fatalf("%d windows ready, want 10:05", len(fs))
	}
	if vs := l2.Views(now); len(vs) != 0 {
		t.Fatalf("views %+v ready before 10:10 passed", vs)
	}
	heartbeat(0, t0.Add(10*time.Minute))
	heartbeat(1, t0.Add(10*time.Minute))
	if vs := l2.Views(now); len(vs) != 1 || !vs[0].Start.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("views = %+v, want 10:05-10:10 once both partitions passed it", vs)
	}
}
