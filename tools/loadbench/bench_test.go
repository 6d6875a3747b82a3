package main

import (
	"os"
	"testing"
	"time"
)

func TestParseConfigs(t *testing.T) {
	got, err := parseConfigs("1x20, 10x100")
	if err != nil || len(got) != 2 || got[0] != (benchConfig{1, 20}) || got[1] != (benchConfig{10, 100}) {
		t.Fatalf("parseConfigs = %v, %v", got, err)
	}
	for _, bad := range []string{"", "10", "0x20", "ax2", "1x-1", "1x20,"} {
		if _, err := parseConfigs(bad); err == nil {
			t.Errorf("parseConfigs(%q) accepted", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(ds, c.q); got != c.want {
			t.Errorf("percentile(%v) = %s, want %s", c.q, got, c.want)
		}
	}
	if ds[0] != 100*time.Millisecond {
		t.Error("percentile sorted its input in place")
	}
	if percentile(nil, 0.5) != -1 {
		t.Error("percentile of nothing is not -1")
	}
}

// TestReadUsage reads this process's /proc entries: the CPU time grows
// with work done and the peak RSS covers a buffer that was touched.
func TestReadUsage(t *testing.T) {
	before, err := readUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	deadline := time.Now().Add(time.Second)
	x := 0
	for time.Now().Before(deadline) {
		for i := 0; i < len(buf); i += 4096 {
			x += int(buf[i+1])
		}
	}
	after, err := readUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after.cpu <= before.cpu {
		t.Errorf("CPU seconds did not grow: %v then %v", before.cpu, after.cpu)
	}
	if after.hwm < 64<<20 || after.rss <= 0 || x == 0 {
		t.Errorf("peak RSS %d after touching 64 MiB, RSS %d", after.hwm, after.rss)
	}
}
