package avro

import (
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/driftline/driftline/services/normalize"
	"github.com/driftline/driftline/services/normalize/normalizetest"
)

// The registry tests run against franz-go's srfake: an in-memory registry
// serving the Confluent REST API over httptest. Karapace, the one
// Confluent-compatible registry that needs no container image, is not on
// the package index this project can reach, and Confluent's own registry
// needs Docker.

// countLookups counts the schema-by-id requests reg serves from now on.
func countLookups(reg *srfake.Registry) *atomic.Int64 {
	var n atomic.Int64
	reg.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/schemas/ids/") {
			n.Add(1)
		}
		return false
	})
	return &n
}

func TestRegistryCachesSchemas(t *testing.T) {
	reg := startRegistry(t)
	lookups := countLookups(reg)
	f := mustNew(t, Config{Registry: Registry{URLs: []string{reg.URL()}}})
	s := samples(t)
	for range 5 {
		normalizetest.DecodeOne(t, f, s["v1_confluent"])
		normalizetest.DecodeOne(t, f, s["v2_confluent"])
	}
	if n := lookups.Load(); n != 2 {
		t.Errorf("%d registry lookups for two ids, want 2", n)
	}
}

func TestRegistryUnknownID(t *testing.T) {
	reg := startRegistry(t)
	lookups := countLookups(reg)
	f := mustNew(t, Config{Registry: Registry{URLs: []string{reg.URL()}, NotFoundTTL: time.Minute}})
	now := time.Now()
	f.registry.now = func() time.Time { return now }

	v2 := readSchema(t, v2File)
	rec := confluent(777, body(t, v2, v2Native(6)))
	for range 3 {
		_, err := f.Documents(rec)
		var fail *normalize.Failure
		if !errors.As(err, &fail) || fail.Class != normalize.ClassUnknownSchema {
			t.Fatalf("got %v, want an unknown_schema failure", err)
		}
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("%d lookups of a missing id within its TTL, want 1", n)
	}

	// The producer registers the schema late; after the TTL it is found.
	reg.SeedSchema("churn-scored-value", 3, 777, sr.Schema{Schema: v2})
	if _, err := f.Documents(rec); err == nil {
		t.Error("a not-found answer was forgotten before its TTL")
	}
	now = now.Add(time.Minute)
	doc := normalizetest.DecodeOne(t, f, rec)
	if doc["tier"] != "gold" {
		t.Errorf("late-registered schema: got %#v", doc)
	}
}

func TestRegistryUnusableSchemas(t *testing.T) {
	reg := startRegistry(t)
	reg.SeedSchema("proto-value", 1, 201, sr.Schema{Type: sr.TypeProtobuf, Schema: `syntax = "proto3"; message M { string a = 1; }`})
	reg.SeedSchema("refs-value", 1, 202, sr.Schema{
		Schema:     `{"type":"record","name":"R","fields":[{"name":"c","type":"com.acme.ml.Region"}]}`,
		References: []sr.SchemaReference{{Name: "com.acme.ml.Region", Subject: "churn-scored-value", Version: 1}},
	})
	f := mustNew(t, Config{Registry: Registry{URLs: []string{reg.URL()}}})
	for id, want := range map[uint32]string{201: "PROTOBUF", 202: "references"} {
		_, err := f.Documents(confluent(id, []byte{2}))
		var fail *normalize.Failure
		if !errors.As(err, &fail) || fail.Class != normalize.ClassUnknownSchema || !strings.Contains(err.Error(), want) {
			t.Errorf("id %d: got %v, want an unknown_schema failure naming %s", id, err, want)
		}
	}
}

// TestRegistryOutage: while the registry fails, records are not dead-letter
// material (no *normalize.Failure) and nothing is cached, so they decode
// once it is back.
func TestRegistryOutage(t *testing.T) {
	reg := startRegistry(t)
	s := samples(t)
	for _, c := range []struct {
		name   string
		status int
		body   string
	}{
		{"503", http.StatusServiceUnavailable, `{"error_code":50003,"message":"forwarding failed"}`},
		{"429", http.StatusTooManyRequests, `{"message":"slow down"}`},
		{"401", http.StatusUnauthorized, `{"error_code":40101,"message":"unauthorized"}`},
		{"404 from a proxy", http.StatusNotFound, `<html>not found</html>`},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg.ClearInterceptors()
			var down atomic.Bool
			down.Store(true)
			reg.Intercept(func(w http.ResponseWriter, _ *http.Request) bool {
				if !down.Load() {
					return false
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
				return true
			})
			f := mustNew(t, Config{Registry: Registry{URLs: []string{reg.URL()}}})
			_, err := f.Documents(s["v1_confluent"])
			var fail *normalize.Failure
			if !errors.Is(err, ErrRegistryUnavailable) || errors.As(err, &fail) {
				t.Fatalf("got %v, want ErrRegistryUnavailable and no Failure", err)
			}
			down.Store(false)
			if doc := normalizetest.DecodeOne(t, f, s["v1_confluent"]); doc["request_id"] != "req-000042" {
				t.Errorf("after the outage: got %#v", doc)
			}
		})
	}
	reg.ClearInterceptors()

	t.Run("unreachable", func(t *testing.T) {
		url := reg.URL()
		f := mustNew(t, Config{Registry: Registry{URLs: []string{url}, Timeout: 2 * time.Second}})
		reg.Close()
		_, err := f.Documents(s["v2_confluent"])
		var fail *normalize.Failure
		if !errors.Is(err, ErrRegistryUnavailable) || errors.As(err, &fail) {
			t.Fatalf("got %v, want ErrRegistryUnavailable and no Failure", err)
		}
	})
}

func TestRegistryCacheBound(t *testing.T) {
	reg := startRegistry(t)
	v2 := readSchema(t, v2File)
	for id := 300; id < 310; id++ {
		reg.SeedSchema("many-value", id-299, id, sr.Schema{Schema: v2})
	}
	f := mustNew(t, Config{Registry: Registry{URLs: []string{reg.URL()}, CacheSize: 3}})
	b := body(t, v2, v2Native(6))
	for id := uint32(300); id < 310; id++ {
		normalizetest.DecodeOne(t, f, confluent(id, b))
		if n := len(f.registry.cache); n > 3 {
			t.Fatalf("cache holds %d schemas, bound 3", n)
		}
	}
}

// TestRegistryTLS reaches the registry over https, trusting the server's
// certificate through registry.tls.ca_file.
func TestRegistryTLS(t *testing.T) {
	reg := startRegistry(t)
	srv := httptest.NewTLSServer(reg.Handler())
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	s := samples(t)

	f := mustNew(t, Config{Registry: Registry{URLs: []string{srv.URL}, TLS: TLS{CAFile: ca}}})
	if doc := normalizetest.DecodeOne(t, f, s["v2_confluent"]); doc["tier"] != "gold" {
		t.Errorf("over TLS: %#v", doc)
	}
	// Without the CA the certificate is not trusted: the registry is
	// unavailable, which is not the record's fault.
	f = mustNew(t, Config{Registry: Registry{URLs: []string{srv.URL}}})
	if _, err := f.Documents(s["v2_confluent"]); !errors.Is(err, ErrRegistryUnavailable) {
		t.Errorf("untrusted certificate: got %v, want ErrRegistryUnavailable", err)
	}
	if _, err := New(Config{Registry: Registry{URLs: []string{srv.URL}, TLS: TLS{CertFile: ca}}}); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("cert without key: got %v", err)
	}
}

// TestRegistryConcurrent decodes from many goroutines while the cache fills
// (run with -race); each id is fetched once.
func TestRegistryConcurrent(t *testing.T) {
	reg := startRegistry(t)
	lookups := countLookups(reg)
	f := mustNew(t, Config{Registry: Registry{URLs: []string{reg.URL()}}})
	s := samples(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			rec := s[[]string{"v1_confluent", "v2_confluent"}[i%2]]
			for range 50 {
				if _, err := f.Documents(rec); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := lookups.Load(); n != 2 {
		t.Errorf("%d lookups for two ids, want 2", n)
	}
}
