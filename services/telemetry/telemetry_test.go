package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func TestServe(t *testing.T) {
	reg := NewRegistry()
	records := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "records_in_total", Help: "Records read.",
	})
	reg.MustRegister(records)
	records.Add(3)

	var notReady atomic.Pointer[error]
	ready := func() error {
		if e := notReady.Load(); e != nil {
			return *e
		}
		return nil
	}
	cause := errors.New("kafka: no broker reachable")
	notReady.Store(&cause)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, reg, ready) }()
	t.Cleanup(cancel)

	tests := []struct {
		name     string
		path     string
		before   func()
		status   int
		contains []string
	}{
		{name: "metrics", path: "/metrics", status: http.StatusOK, contains: []string{
			"driftline_records_in_total 3", "go_goroutines ", "process_start_time_seconds ",
		}},
		{name: "healthz while running", path: "/healthz", status: http.StatusOK, contains: []string{"ok"}},
		{name: "readyz not ready", path: "/readyz", status: http.StatusServiceUnavailable,
			contains: []string{"kafka: no broker reachable"}},
		{name: "readyz ready", path: "/readyz", before: func() { notReady.Store(nil) },
			status: http.StatusOK, contains: []string{"ready"}},
		{name: "metrics count their own scrapes", path: "/metrics", status: http.StatusOK,
			contains: []string{`promhttp_metric_handler_requests_total{code="200"} 1`}},
		{name: "unknown path", path: "/debug/pprof/", status: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			status, body := get(t, base+tt.path)
			if status != tt.status {
				t.Errorf("status %d, want %d; body %q", status, tt.status, body)
			}
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q:\n%.2000s", s, body)
				}
			}
		})
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeListener after cancel: %v", err)
		}
	case <-time.After(ShutdownTimeout + 5*time.Second):
		t.Fatal("ServeListener did not return after its context ended")
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

func TestServeAddr(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Serve(ctx, "", NewRegistry(), nil); err != nil {
		t.Errorf(`Serve(""): %v`, err)
	}

	// Holding a port makes a second listener on it fail.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Serve(ctx, ln.Addr().String(), NewRegistry(), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "telemetry: listen on "+ln.Addr().String()) {
		t.Errorf("Serve on a busy port: %v", err)
	}

	short, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	defer stop()
	if err := Serve(short, "127.0.0.1:0", NewRegistry(), nil); err != nil {
		t.Errorf("Serve until the context ends: %v", err)
	}
}

func TestNewLogger(t *testing.T) {
	tests := []struct {
		level, format string
		wantErr       string
		debug, info   bool // which of a debug and an info record appear
	}{
		{level: "debug", format: "text", debug: true, info: true},
		{level: "", format: "", info: true},
		{level: "INFO", format: "json", info: true},
		{level: "warn", format: "json"},
		{level: "error", format: "text"},
		{level: "verbose", format: "text", wantErr: `telemetry: unknown log level "verbose" (want debug, info, warn or error)`},
		{level: "info", format: "logfmt", wantErr: `telemetry: unknown log format "logfmt" (want text or json)`},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := NewLogger(&buf, tt.level, tt.format)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("d-record")
			log.Info("i-record", "model", "fraud")
			out := buf.String()
			if got := strings.Contains(out, "d-record"); got != tt.debug {
				t.Errorf("debug record present = %v, want %v:\n%s", got, tt.debug, out)
			}
			if got := strings.Contains(out, "i-record"); got != tt.info {
				t.Errorf("info record present = %v, want %v:\n%s", got, tt.info, out)
			}
			if tt.info && strings.EqualFold(tt.format, "json") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &rec); err != nil || rec["model"] != "fraud" {
					t.Errorf("json record %q: %v", out, err)
				}
			}
		})
	}
}
