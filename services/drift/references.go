package drift

import (
	"context"
	"fmt"
	"sync"

	"github.com/driftline/driftline/schemas"
	"github.com/twmb/franz-go/pkg/kgo"
)

// References holds the newest reference profile per model and version, read
// from the compacted references topic. It is safe for concurrent use: the
// topic is read by its own goroutine while both levels look profiles up.
type References struct {
	mu       sync.RWMutex
	byKey    map[string]*schemas.ReferenceProfile
	byID     map[string]*schemas.ReferenceProfile
	byModel  map[string]*schemas.ReferenceProfile
	loaded   chan struct{}
	loadOnce sync.Once
}

// NewReferences returns an empty cache.
func NewReferences() *References {
	return &References{
		byKey:   make(map[string]*schemas.ReferenceProfile),
		byID:    make(map[string]*schemas.ReferenceProfile),
		byModel: make(map[string]*schemas.ReferenceProfile),
		loaded:  make(chan struct{}),
	}
}

// ReferenceKey is the references-topic key of a profile.
func ReferenceKey(modelID, version string) string { return modelID + "/" + version }

// Put adds or replaces a profile.
func (r *References) Put(p *schemas.ReferenceProfile) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byKey[ReferenceKey(p.ModelID, p.ModelVersion)] = p
	r.byID[p.ReferenceID] = p
	if old := r.byModel[p.ModelID]; old == nil || !p.CreatedAt.Before(old.CreatedAt) {
		r.byModel[p.ModelID] = p
	}
}

// For returns the profile for a model version: the version's own, else the
// newest of the model's profiles, else nil.
func (r *References) For(modelID, version string) *schemas.ReferenceProfile {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if p := r.byKey[ReferenceKey(modelID, version)]; p != nil {
		return p
	}
	return r.byModel[modelID]
}

// ByID returns the profile with that id, or nil.
func (r *References) ByID(id string) *schemas.ReferenceProfile {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byID[id]
}

// Loaded is closed once the topic was read up to its end at start-up.
func (r *References) Loaded() <-chan struct{} { return r.loaded }

// Follow reads the references topic from its start until ctx ends. cl must
// be a client without a consumer group that consumes only that topic from
// the start. save, if not nil, is given the profiles of each poll before
// they are used; its error ends Follow.
func (r *References) Follow(ctx context.Context, cl *kgo.Client, topic string, save func(context.Context, []*schemas.ReferenceProfile) error) error {
	ends, err := endOffsets(ctx, cl, topic)
	if err != nil {
		return err
	}
	seen := map[int32]int64{}
	caughtUp := func() bool {
		for p, end := range ends {
			if seen[p] < end {
				return false
			}
		}
		return true
	}
	if caughtUp() {
		r.loadOnce.Do(func() { close(r.loaded) })
	}
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("fetch %s[%d]: %w", t, p, err) })
		if ferr != nil {
			return ferr
		}
		var read []*schemas.ReferenceProfile
		fs.EachRecord(func(rec *kgo.Record) {
			seen[rec.Partition] = rec.Offset + 1
			if rec.Value == nil {
				return // a tombstone
			}
			var p schemas.ReferenceProfile
			if err := schemas.Unmarshal(rec.Value, &p); err != nil {
				return // not a profile Driftline can read; the builder validated it
			}
			read = append(read, &p)
		})
		if save != nil {
			if err := save(ctx, read); err != nil {
				return fmt.Errorf("save reference profiles: %w", err)
			}
		}
		for _, p := range read {
			r.Put(p)
		}
		if caughtUp() {
			r.loadOnce.Do(func() { close(r.loaded) })
		}
	}
}
