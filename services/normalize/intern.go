package normalize

import (
	"sync"
	"sync/atomic"
)

// interner hands out one shared string, boxed in an interface, per
// distinct short value: feature names, categories, model ids repeat in
// every record, and reusing them saves the JSON fast path two allocations
// each. It holds at most maxInterned values (the first seen); after that
// it only answers for those. Safe for concurrent use: lookups read an
// immutable map, new values gather under a lock and are published in
// batches.
type interner struct {
	table   atomic.Pointer[map[string]any]
	mu      sync.Mutex
	pending map[string]any
	size    int
}

const (
	maxInterned    = 8192
	maxInternBytes = 64
	internBatch    = 32
)

// get returns the boxed string with the bytes b.
func (in *interner) get(b []byte) any {
	if len(b) > maxInternBytes {
		return string(b)
	}
	if t := in.table.Load(); t != nil {
		if v, ok := (*t)[string(b)]; ok {
			return v
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.pending[string(b)]; ok {
		return v
	}
	var v any = string(b)
	if in.size >= maxInterned {
		return v
	}
	if in.pending == nil {
		in.pending = map[string]any{}
	}
	in.pending[string(b)] = v
	in.size++
	if len(in.pending) >= internBatch || in.size < internBatch {
		// Publish: early values at once, later ones in batches so that
		// a burst of new values copies the table rarely.
		old := in.table.Load()
		n := make(map[string]any, in.size)
		if old != nil {
			for k, x := range *old {
				n[k] = x
			}
		}
		for k, x := range in.pending {
			n[k] = x
		}
		in.table.Store(&n)
		clear(in.pending)
	}
	return v
}

// key returns the shared string with the bytes b.
func (in *interner) key(b []byte) string { return in.get(b).(string) }
