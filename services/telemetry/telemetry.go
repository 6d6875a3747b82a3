// Package telemetry gives every Driftline service the same operational
// surface: a Prometheus registry, an HTTP server for /metrics, /healthz and
// /readyz, and a log/slog logger configured from strings (as they come from
// configuration).
//
// /healthz answers 200 for as long as the process serves, so an orchestrator
// restarts only a process that is wedged; /readyz answers 200 only while the
// service's ready function returns nil (connected to Kafka and ClickHouse,
// caught up...), and 503 with the reason otherwise, so traffic and rollouts
// wait for it.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every Driftline metric name (driftline_...).
const Namespace = "driftline"

// ShutdownTimeout bounds how long Serve waits for in-flight requests once its
// context ends.
const ShutdownTimeout = 5 * time.Second

// NewRegistry returns a registry with the Go runtime and process collectors,
// on which a service registers its own metrics. A registry of its own, rather
// than the global one, keeps tests independent and metrics explicit.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves /metrics from reg, /healthz and /readyz. A nil ready means
// always ready.
func Handler(reg *prometheus.Registry, ready func() error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(reg,
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ready != nil {
			if err := ready(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "not ready: "+err.Error()+"\n")
				return
			}
		}
		io.WriteString(w, "ready\n")
	})
	return mux
}

// Serve serves Handler(reg, ready) on addr until ctx ends, then shuts down
// gracefully within ShutdownTimeout and returns nil. An empty addr serves
// nothing and returns nil at once. It returns an error if it cannot listen or
// the server fails.
func Serve(ctx context.Context, addr string, reg *prometheus.Registry, ready func() error) error {
	if addr == "" {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("telemetry: listen on %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, reg, ready)
}

// ServeListener is Serve on a listener the caller opened (a port picked by
// the system, in tests). It closes ln.
func ServeListener(ctx context.Context, ln net.Listener, reg *prometheus.Registry, ready func() error) error {
	srv := &http.Server{
		Handler:           Handler(reg, ready),
		ReadHeaderTimeout: 5 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("telemetry: serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("telemetry: shutting down %s: %w", ln.Addr(), err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("telemetry: serving on %s: %w", ln.Addr(), err)
	}
	return nil
}

// NewLogger returns a slog logger writing to w. level is debug, info, warn
// or error; format is text or json; "" means info and text.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "info", "":
		l = slog.LevelInfo
	case "warn", "warning":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		return nil, fmt.Errorf("telemetry: unknown log level %q (want debug, info, warn or error)", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("telemetry: unknown log format %q (want text or json)", format)
}

// Register registers c on reg and returns it, or returns the collector
// already registered under the same description: every family's window
// levels run in one process in the embedded stack and share their metric
// vectors, told apart by a label. A nil reg registers nothing.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// Two different metrics under one name is a bug in Driftline.
		panic(fmt.Sprintf("telemetry: register: %v", err))
	}
	return c
}
