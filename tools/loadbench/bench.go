package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/stream"
	"github.com/driftline/driftline/tools/demo"
	"github.com/driftline/driftline/tools/loadgen"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

type options struct {
	bin, kafkaScript, dir, perfDir string
	rate                           float64
	duration, warmup, window       time.Duration
	windowEvents                   int
	outOfOrder, lateness           time.Duration
	partitions, segments           int
	shadowShare                    float64
	transactions                   bool

	brokers   string
	brokerPID int
	log       io.Writer
}

// source is the raw source the generator writes.
const source = "load"

// proc is a process whose CPU and memory are sampled.
type proc struct {
	name    string
	pid     int
	cmd     *exec.Cmd // nil for the broker
	metrics string    // the service's /metrics URL
}

// usage is one reading of /proc/PID.
type usage struct {
	cpu      float64 // user + system seconds
	hwm, rss int64   // bytes
	// heap is the Go heap in use (go_memstats_heap_inuse_bytes): the
	// service's own state, without the embedded ClickHouse engine that
	// dominates its RSS.
	heap int64
}

func readUsage(pid int) (usage, error) {
	var u usage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// The command name may hold spaces; the fields after it are fixed.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return u, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, _ := strconv.ParseFloat(f[11], 64) // utime, field 14
	st, _ := strconv.ParseFloat(f[12], 64) // stime, field 15
	u.cpu = (ut + st) / 100                // USER_HZ is 100 on Linux
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmHWM":
			u.hwm = kb << 10
		case "VmRSS":
			u.rss = kb << 10
		}
	}
	return u, nil
}

// sample is one second of the run.
type sample struct {
	at                   time.Time
	use                  map[string]usage
	adapterLag           int64
	driftLag             int64
	adapterPos, driftPos int64 // summed committed offsets
}

type winObs struct {
	closable    time.Time // the generator sent the record that lets it close
	first, last time.Time // metric records' timestamps (produced after the ClickHouse insert)
	metrics     int
}

type result struct {
	cfg                        benchConfig
	produced                   loadgen.Summary
	loadgenCPU                 float64
	adapterRate, driftRate     float64 // committed-offset slopes after warm-up
	adapterDrain               time.Duration
	adapterLagMax, driftLagMax int64
	adapterLagEnd, driftLagEnd int64
	windows, missing           int
	delay                      [3]time.Duration // p50, p99, max of the last metric
	firstDelay                 [2]time.Duration // p50, p99 of the first metric
	use                        map[string]usage // at the end; cpu since the load began
	elapsed                    time.Duration    // from the first record to the end of the sampling
	deadLetters                int64
	// Records each service committed from the start of the load to the
	// end, for its CPU cost per record, which other load on the machine
	// changes far less than its rate.
	adapterRecords, driftRecords int64
	peakHeap, peakHeap2          map[string]int64
}

func runOne(ctx context.Context, o options, i int, c benchConfig) (*result, error) {
	prefix := fmt.Sprintf("bench%d.", i)
	groupPrefix := fmt.Sprintf("bench%d-", i)
	topics := stream.NewTopics(prefix)
	lo := loadgen.Defaults()
	lo.Models, lo.Features, lo.Segments, lo.ShadowShare = c.models, c.features, o.segments, o.shadowShare
	lo.Window, lo.EventsPerWindow = o.window, o.windowEvents
	lo.Seed = uint64(i + 1)
	g, err := loadgen.New(lo)
	if err != nil {
		return nil, err
	}

	cl, err := kgo.NewClient(append(stream.Config{Brokers: []string{o.brokers}}.Options(nil), kgo.MaxBufferedRecords(200000))...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if err := stream.EnsureTopics(ctx, cl, topics, stream.Layout{Partitions: int32(o.partitions)}, source, "labels"); err != nil {
		return nil, err
	}
	ps, err := loadgen.Profiles(lo, 5000)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if err := demo.Publish(ctx, cl, topics, p); err != nil {
			return nil, err
		}
	}

	env := []string{
		"DRIFTLINE_KAFKA_BROKERS=" + o.brokers,
		"DRIFTLINE_KAFKA_PREFIX=" + prefix,
		"DRIFTLINE_KAFKA_TRANSACTIONS=" + strconv.FormatBool(o.transactions),
		"DRIFTLINE_GROUP_PREFIX=" + groupPrefix,
		"DRIFTLINE_PARTITIONS=" + strconv.Itoa(o.partitions),
		"DRIFTLINE_WINDOW_SIZE=" + o.window.String(),
		"DRIFTLINE_OUT_OF_ORDERNESS=" + o.outOfOrder.String(),
		"DRIFTLINE_LATENESS=" + o.lateness.String(),
		"DRIFTLINE_MIGRATE=true",
		"DRIFTLINE_LOG_LEVEL=warn",
	}
	var procs []*proc
	defer func() {
		for _, p := range procs {
			stopProc(p)
		}
	}()
	for _, svc := range []string{"adapter", "drift-aggregator"} {
		listen, err := freeAddr()
		if err != nil {
			return nil, err
		}
		p, err := startProc(o, svc, i, append(env, "DRIFTLINE_STORE=chdb://"+filepath.Join(o.dir, fmt.Sprintf("%s-%d", svc, i)),
			"DRIFTLINE_LISTEN="+listen))
		if err != nil {
			return nil, err
		}
		p.metrics = "http://" + listen + "/metrics"
		procs = append(procs, p)
	}
	all := append([]*proc{{name: "kafka", pid: o.brokerPID}}, procs...)
	adapterGroup, driftGroup := groupPrefix+"adapter", groupPrefix+"drift-l1"
	if err := waitStable(ctx, adm, procs, adapterGroup, driftGroup); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.log, "loadbench: services ready (adapter pid %d, drift-aggregator pid %d)\n", procs[0].pid, procs[1].pid)

	// The windows: when each became closable, and when its metrics came.
	var mu sync.Mutex
	wins := map[time.Time]*winObs{}
	obs := func(w time.Time) *winObs {
		if wins[w] == nil {
			wins[w] = &winObs{}
		}
		return wins[w]
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	var bg sync.WaitGroup
	bg.Add(2)
	go func() {
		defer bg.Done()
		watchMetrics(runCtx, o.brokers, topics.Metrics(), func(w, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			x := obs(w)
			if x.first.IsZero() || at.Before(x.first) {
				x.first = at
			}
			if at.After(x.last) {
				x.last = at
			}
			x.metrics++
		})
	}()
	var smu sync.Mutex
	var samples []sample
	take := func() sample {
		s := sample{at: time.Now(), use: map[string]usage{}}
		for _, p := range all {
			if u, err := readUsage(p.pid); err == nil {
				u.heap = goHeap(p.metrics)
				s.use[p.name] = u
			}
		}
		lags, err := adm.Lag(runCtx, adapterGroup, driftGroup)
		if err == nil {
			s.adapterLag, s.adapterPos = lagOf(lags[adapterGroup], topics.Raw(source))
			s.driftLag, s.driftPos = lagOf(lags[driftGroup], topics.Inferences())
		}
		return s
	}
	go func() {
		defer bg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				s := take()
				smu.Lock()
				samples = append(samples, s)
				smu.Unlock()
			}
		}
	}()

	var perfs []*exec.Cmd
	if o.perfDir != "" {
		for _, p := range procs {
			out := filepath.Join(o.perfDir, fmt.Sprintf("%dx%d-%s.data", c.models, c.features, p.name))
			secs := strconv.Itoa(int((o.duration - o.warmup).Seconds()))
			cmd := exec.Command("perf", "record", "-F", "499", "-g", "-o", out, "-p", strconv.Itoa(p.pid), "--", "sleep", secs)
			cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
			perfs = append(perfs, cmd)
		}
	}

	base := take() // CPU before the load: start-up and the other runs
	began := time.Now()
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	if len(perfs) > 0 {
		go func() {
			select {
			case <-time.After(o.warmup):
				for _, p := range perfs {
					if err := p.Start(); err != nil {
						fmt.Fprintf(o.log, "loadbench: perf: %v\n", err)
					}
				}
			case <-runCtx.Done():
			}
		}()
	}
	// The rate counts inference records; labels are off in the benchmark.
	produced, err := loadgen.Produce(ctx, cl, g, loadgen.RunOptions{
		InferenceTopic: topics.Raw(source), LabelTopic: topics.Raw("labels"),
		Rate: o.rate, Duration: o.duration, Progress: o.log, ProgressEvery: 10 * time.Second,
		CloseAfter: o.outOfOrder + o.lateness,
		OnClosable: func(w, at time.Time) {
			mu.Lock()
			obs(w).closable = at
			mu.Unlock()
		},
	})
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if err != nil {
		return nil, err
	}
	producedAt := time.Now()
	fmt.Fprintf(o.log, "loadbench: produced %s\n", produced)

	// The adapter has kept up when its lag is back to zero.
	drained := time.Duration(-1)
	for time.Since(producedAt) < 2*time.Minute && ctx.Err() == nil {
		lags, err := adm.Lag(ctx, adapterGroup)
		if err == nil {
			if lag, _ := lagOf(lags[adapterGroup], topics.Raw(source)); lag == 0 {
				drained = time.Since(producedAt)
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Give the last closable windows time to arrive.
	time.Sleep(5 * time.Second)
	final := take()
	cancelRun()
	bg.Wait()
	for _, p := range perfs {
		if p.Process != nil {
			p.Wait()
		}
	}

	r := &result{cfg: c, produced: produced, adapterDrain: drained, use: final.use, elapsed: final.at.Sub(began)}
	r.adapterRecords, r.driftRecords = final.adapterPos-base.adapterPos, final.driftPos-base.driftPos
	for name, u := range r.use {
		u.cpu -= base.use[name].cpu
		r.use[name] = u
	}
	r.loadgenCPU = tvSeconds(ru1.Utime) + tvSeconds(ru1.Stime) - tvSeconds(ru0.Utime) - tvSeconds(ru0.Stime)
	r.deadLetters = endOffsets(ctx, adm, topics.DeadLetter())

	// The heap's peak in the first and the second half of the measured
	// interval: with the state bounded, the second is no higher.
	r.peakHeap, r.peakHeap2 = map[string]int64{}, map[string]int64{}
	mid := began.Add(o.warmup + (producedAt.Sub(began)-o.warmup)/2)
	// Throughput, lag and heap after the warm-up, while the generator
	// produced.
	var first, last *sample
	for k := range samples {
		s := &samples[k]
		if s.at.Before(began.Add(o.warmup)) || s.at.After(producedAt) {
			continue
		}
		if first == nil {
			first = s
		}
		last = s
		half := r.peakHeap
		if !s.at.Before(mid) {
			half = r.peakHeap2
		}
		for name, u := range s.use {
			half[name] = max(half[name], u.heap)
		}
		r.adapterLagMax = max(r.adapterLagMax, s.adapterLag)
		r.driftLagMax = max(r.driftLagMax, s.driftLag)
	}
	if first != nil && last != first {
		dt := last.at.Sub(first.at).Seconds()
		r.adapterRate = float64(last.adapterPos-first.adapterPos) / dt
		r.driftRate = float64(last.driftPos-first.driftPos) / dt
		r.adapterLagEnd, r.driftLagEnd = last.adapterLag, last.driftLag
	}

	var delays, firsts []time.Duration
	mu.Lock()
	for _, w := range wins {
		if w.closable.IsZero() || w.closable.Before(began.Add(o.warmup)) {
			continue
		}
		r.windows++
		if w.metrics == 0 {
			r.missing++
			continue
		}
		delays = append(delays, w.last.Sub(w.closable))
		firsts = append(firsts, w.first.Sub(w.closable))
	}
	mu.Unlock()
	r.delay = [3]time.Duration{percentile(delays, 0.5), percentile(delays, 0.99), percentile(delays, 1)}
	r.firstDelay = [2]time.Duration{percentile(firsts, 0.5), percentile(firsts, 0.99)}
	return r, nil
}

func tvSeconds(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// percentile is the nearest-rank percentile; -1 for no values.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return -1
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(k, 0), len(s)-1)]
}

// lagOf sums a group's lag and committed offsets on one topic.
func lagOf(l kadm.DescribedGroupLag, topic string) (lag, pos int64) {
	for _, m := range l.Lag[topic] {
		if m.Lag > 0 {
			lag += m.Lag
		}
		if m.Commit.At > 0 {
			pos += m.Commit.At
		}
	}
	return lag, pos
}

func endOffsets(ctx context.Context, adm *kadm.Client, topic string) int64 {
	offs, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return -1
	}
	var n int64
	offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// watchMetrics reports each metric record's window start and timestamp.
// Level 2 produces a window's metrics after ClickHouse acknowledged their
// insert, so the timestamp is an upper bound on when the rows were there.
func watchMetrics(ctx context.Context, brokers, topic string, seen func(window, at time.Time)) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return
	}
	defer cl.Close()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			var m schemas.MetricWindow
			if schemas.Unmarshal(r.Value, &m) == nil && m.Family == schemas.FamilyDrift {
				seen(m.WindowStart, r.Timestamp)
			}
		})
	}
}

func startProc(o options, svc string, i int, env []string) (*proc, error) {
	logf, err := os.Create(filepath.Join(o.dir, fmt.Sprintf("%s-%d.log", svc, i)))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(o.bin, svc))
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", svc, err)
	}
	logf.Close()
	return &proc{name: svc, pid: cmd.Process.Pid, cmd: cmd}, nil
}

func stopProc(p *proc) {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// waitStable waits until both consumer groups have members and settled.
func waitStable(ctx context.Context, adm *kadm.Client, procs []*proc, groups ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		for _, p := range procs {
			if p.cmd.ProcessState != nil {
				return fmt.Errorf("%s exited: %s", p.name, p.cmd.ProcessState)
			}
			if err := syscall.Kill(p.pid, 0); err != nil {
				return fmt.Errorf("%s is gone: %w", p.name, err)
			}
		}
		ds, err := adm.DescribeGroups(ctx, groups...)
		stable := err == nil
		for _, g := range groups {
			d, ok := ds[g]
			stable = stable && ok && d.Err == nil && d.State == "Stable" && len(d.Members) > 0
		}
		if stable {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("consumer groups %v not stable: %w", groups, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func startKafka(ctx context.Context, script, dir string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script, "start", dir)
	cmd.Env = append(os.Environ(), "DRIFTLINE_KAFKA_OWNER_PID="+strconv.Itoa(os.Getpid()))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("start the broker: %w\n%s", err, out.Bytes())
	}
	b, err := os.ReadFile(filepath.Join(dir, "bootstrap"))
	if err != nil {
		return "", err
	}
	if addr := strings.TrimSpace(string(b)); addr != "" {
		return addr, nil
	}
	return "", errors.New("the broker wrote no bootstrap address")
}

func stopKafka(script, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	exec.CommandContext(ctx, "bash", script, "stop", dir).Run()
}

func readPID(path string) int {
	b, _ := os.ReadFile(path)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// freeAddr returns a free 127.0.0.1 port for a service's /metrics.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// goHeap reads go_memstats_heap_inuse_bytes from a /metrics URL; 0 if it
// cannot.
func goHeap(url string) int64 {
	if url == "" {
		return 0
	}
	c := http.Client{Timeout: 500 * time.Millisecond}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f)
		}
	}
	return 0
}
