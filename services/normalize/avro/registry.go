package avro

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"golang.org/x/sync/singleflight"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/normalize"
)

// ErrRegistryUnavailable is wrapped by the errors of records whose schema id
// could not be looked up because of the registry, not the record: it could
// not be reached, timed out, answered 5xx or 429, refused the credentials,
// or answered 404 without a Confluent error code (a wrong URL or a proxy,
// rather than a registry that lacks the id). Such an error is not a
// *normalize.Failure: the caller retries the record later instead of
// dead-lettering it. Nothing is cached, so the next lookup asks again.
var ErrRegistryUnavailable = errors.New("avro: schema registry unavailable")

// registry looks writer schemas up by Confluent schema id, with a bounded
// cache. Ids are immutable, so a schema, or the reason it cannot be used, is
// kept until evicted; only "not found" expires, after NotFoundTTL.
type registry struct {
	cl          *sr.Client
	timeout     time.Duration
	notFoundTTL time.Duration
	size        int
	now         func() time.Time

	mu    sync.RWMutex
	cache map[uint32]entry
	group singleflight.Group // one fetch per id at a time
}

type entry struct {
	g       *schemas.Generic
	fail    *normalize.Failure
	expires time.Time // zero: never
}

func newRegistry(c Registry) (*registry, error) {
	opts := []sr.ClientOpt{
		sr.URLs(c.URLs...),
		sr.HTTPClient(&http.Client{Timeout: c.Timeout}),
		sr.UserAgent("driftline-adapter"),
	}
	if c.Username != "" {
		opts = append(opts, sr.BasicAuth(c.Username, c.Password))
	}
	if c.TLS != (TLS{}) {
		tc, err := tlsConfig(c.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sr.DialTLSConfig(tc))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("avro: registry client: %w", err)
	}
	return &registry{
		cl:          cl,
		timeout:     c.Timeout,
		notFoundTTL: c.NotFoundTTL,
		size:        c.CacheSize,
		now:         time.Now,
		cache:       make(map[uint32]entry),
	}, nil
}

func tlsConfig(c TLS) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("avro: registry.tls.ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("avro: registry.tls.ca_file %s: no PEM certificate in it", c.CAFile)
		}
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("avro: registry.tls.cert_file and key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (r *registry) lookup(id uint32) (*schemas.Generic, error) {
	e, ok := r.cached(id)
	if !ok {
		v, err, _ := r.group.Do(strconv.FormatUint(uint64(id), 10), func() (any, error) {
			// Looked at again: a fetch may have finished since the miss.
			if e, ok := r.cached(id); ok {
				return e, nil
			}
			return r.fetch(id)
		})
		if err != nil {
			return nil, err
		}
		e = v.(entry)
	}
	if e.fail != nil {
		return nil, e.fail
	}
	return e.g, nil
}

// cached returns the cache's live entry for id.
func (r *registry) cached(id uint32) (entry, bool) {
	r.mu.RLock()
	e, ok := r.cache[id]
	r.mu.RUnlock()
	if ok && !e.expires.IsZero() && !r.now().Before(e.expires) {
		return entry{}, false
	}
	return e, ok
}

// fetch asks the registry for id and caches the answer unless the registry
// itself failed.
func (r *registry) fetch(id uint32) (entry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	s, err := r.cl.SchemaByID(ctx, int(id))
	var e entry
	switch {
	case err != nil:
		var re *sr.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound || !sr.IsNotFoundError(re.ErrorCode) {
			return entry{}, fmt.Errorf("%w: schema id %d: %w", ErrRegistryUnavailable, id, err)
		}
		e.fail = failf(normalize.ClassUnknownSchema, "schema id %d: not in the registry: %s", id, re.Message)
		e.expires = r.now().Add(r.notFoundTTL)
	case s.Type != sr.TypeAvro:
		e.fail = failf(normalize.ClassUnknownSchema, "schema id %d is a %s schema, not Avro", id, s.Type)
	case len(s.References) > 0:
		e.fail = failf(normalize.ClassUnknownSchema, "schema id %d refers to other schemas (%d references), which this format does not resolve", id, len(s.References))
	default:
		g, err := schemas.NewGeneric(s.Schema)
		if err != nil {
			e.fail = &normalize.Failure{Class: normalize.ClassUnknownSchema, Err: fmt.Errorf("schema id %d: %w", id, err)}
		} else {
			e.g = g
		}
	}
	r.store(id, e)
	return e, nil
}

// store caches e, evicting an arbitrary entry when the cache is full: with
// ids immutable and the working set of a source a handful of schema
// versions, recency bookkeeping is not worth a lock on every hit.
func (r *registry) store(id uint32, e entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cache[id]; !ok && len(r.cache) >= r.size {
		for k := range r.cache {
			delete(r.cache, k)
			break
		}
	}
	r.cache[id] = e
}
