package schemas

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
)

// Errors returned by this package, wrapped with context; test with errors.Is.
// ErrMalformed, ErrTooLarge, ErrUnknownSchema, ErrIncompatible and
// ErrWrongType describe the input and mean the record belongs in the
// dead-letter topic; an error from a Resolver passes through unchanged, so a
// registry outage can be retried instead.
var (
	// ErrMalformed: the bytes are not a valid encoding (unknown framing,
	// truncated, bad varint or index, trailing bytes).
	ErrMalformed = errors.New("schemas: malformed Avro data")
	// ErrTooLarge: the input exceeds the decoder's Limits.
	ErrTooLarge = errors.New("schemas: Avro data exceeds decode limits")
	// ErrUnknownSchema: no writer schema is known for the fingerprint or
	// registry id in the header.
	ErrUnknownSchema = errors.New("schemas: unknown writer schema")
	// ErrIncompatible: the writer schema cannot be resolved into the current
	// reader schema, or is not a Driftline event at all.
	ErrIncompatible = errors.New("schemas: incompatible writer schema")
	// ErrInvalidSchema: a schema does not parse as Avro.
	ErrInvalidSchema = errors.New("schemas: invalid Avro schema")
	// ErrWrongType: the data is a different event than the target.
	ErrWrongType = errors.New("schemas: event type mismatch")
	// ErrUnsupportedType: the Go value is not one of the seven events (or is
	// a nil pointer), or an InferenceEvent feature has an unsupported type.
	ErrUnsupportedType = errors.New("schemas: unsupported Go type")
)

// errPanic marks a panic recovered from goavro. The guard is meant to make it
// unreachable; the fuzz test fails on it.
var errPanic = errors.New("goavro panicked")

// Default decode limits. goavro's native form costs about 200 bytes per map
// entry, so a hostile message of 2^20 distinct entries (5 MiB) takes 200 MiB
// and over a second; 2^18 entries keeps the worst case near 50 MiB while
// leaving room for reference profiles far beyond Kafka's default 1 MiB
// message size. A consumer of larger messages raises them with WithLimits.
const (
	DefaultMaxBytes = 8 << 20
	DefaultMaxItems = 1 << 18
)

// Limits bound what a Decoder accepts from one message. Zero fields take the
// defaults.
type Limits struct {
	// MaxBytes is the largest message, framing included.
	MaxBytes int
	// MaxItems caps array and map entries, summed over the whole message.
	MaxItems int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxItems <= 0 {
		l.MaxItems = DefaultMaxItems
	}
	return l
}

// Resolver returns the writer schema a schema registry holds for a Confluent
// schema id, e.g. by wrapping franz-go's sr.Client.SchemaByID. It should
// return an error wrapping ErrUnknownSchema when the registry has no such id,
// so the caller dead-letters the record; any other error is passed through as
// transient and not cached. A Decoder calls it at most once per id at a time,
// and caches for good the schema it returns, or the reason that schema
// cannot be read (ErrIncompatible, ErrInvalidSchema): registry ids are
// immutable.
type Resolver func(ctx context.Context, id uint32) (schema string, err error)

// DecoderOpt configures a Decoder.
type DecoderOpt func(*Decoder)

// WithResolver sets how a Decoder finds the writer schemas of registry ids it
// was not told about with RegisterID.
func WithResolver(r Resolver) DecoderOpt { return func(d *Decoder) { d.resolve = r } }

// WithLimits sets the decode limits.
func WithLimits(l Limits) DecoderOpt { return func(d *Decoder) { d.limits = l } }

// Decoder decodes events in either framing. It knows the embedded current and
// historic schemas, plus those added with RegisterSchema and RegisterID or
// returned by its Resolver. The zero value is ready to use; a Decoder is safe
// for concurrent use.
type Decoder struct {
	resolve Resolver
	limits  Limits

	// tab is replaced, never mutated, so lookups on the hot path take no lock.
	tab atomic.Pointer[tables]

	mu       sync.Mutex // serialises changes to tab and inflight
	inflight map[uint32]*resolution
}

type tables struct {
	byFP map[uint64]*writer
	byID map[uint32]idEntry
}

// idEntry caches what an id resolved to, including a schema that failed to
// compile: the id will never mean anything else.
type idEntry struct {
	w   *writer
	err error
}

type resolution struct {
	done chan struct{}
	w    *writer
	err  error
}

// NewDecoder returns a Decoder with the given options.
func NewDecoder(opts ...DecoderOpt) *Decoder {
	d := new(Decoder)
	for _, o := range opts {
		o(d)
	}
	return d
}

// defaultDecoder serves the package-level Unmarshal: embedded schemas only.
var defaultDecoder Decoder

// Unmarshal decodes an event in either framing into v, a non-nil pointer to
// one of the seven event structs, using the embedded schemas only. See
// Decoder.Unmarshal.
func Unmarshal(b []byte, v any) error { return defaultDecoder.Unmarshal(b, v) }

// RegisterSchema makes a writer schema known by its fingerprint, for
// single-object data written with a version this binary does not embed. It
// returns the fingerprint. The schema must be self-contained and resolve
// against the current reader schema of the event it names.
func (d *Decoder) RegisterSchema(schemaJSON string) (uint64, error) {
	w, err := compile(schemaJSON)
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.store(w, 0, false, nil)
	return w.fingerprint, nil
}

// RegisterID binds a Confluent schema registry id to a writer schema, as an
// alternative (or warm-up) to a Resolver. The schema also becomes known by
// its fingerprint. Binding an id to a second, different schema is an error.
func (d *Decoder) RegisterID(id uint32, schemaJSON string) error {
	w, err := compile(schemaJSON)
	if err != nil {
		return fmt.Errorf("schema id %d: %w", id, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.tables().byID[id]; ok && (old.w == nil || old.w.fingerprint != w.fingerprint) {
		return fmt.Errorf("schemas: schema id %d is already bound to another schema", id)
	}
	d.store(w, id, true, nil)
	return nil
}

func (d *Decoder) tables() *tables {
	if t := d.tab.Load(); t != nil {
		return t
	}
	return &tables{}
}

// store adds a writer (or a failed id) to a new copy of the tables; d.mu must
// be held. Registrations are rare, so copying keeps reads lock-free.
func (d *Decoder) store(w *writer, id uint32, withID bool, err error) {
	old := d.tables()
	t := &tables{byFP: maps.Clone(old.byFP), byID: maps.Clone(old.byID)}
	if t.byFP == nil {
		t.byFP = map[uint64]*writer{}
	}
	if t.byID == nil {
		t.byID = map[uint32]idEntry{}
	}
	if w != nil {
		// One compiled writer per fingerprint, however it was learned.
		if prev := builtin[w.fingerprint]; prev != nil {
			w = prev
		} else if prev := t.byFP[w.fingerprint]; prev != nil {
			w = prev
		} else {
			t.byFP[w.fingerprint] = w
		}
	}
	if withID {
		t.byID[id] = idEntry{w: w, err: err}
	}
	d.tab.Store(t)
}

// Unmarshal decodes an event in either framing into v, a non-nil pointer to
// one of the seven event structs, replacing its contents. Fields the writer
// did not have take the current schema's defaults; fields v's schema does not
// know are dropped. Times are UTC with millisecond precision; maps that are
// not nullable in the schema come back non-nil, empty arrays as nil slices.
// A Confluent id the Decoder does not know is looked up with its Resolver
// under context.Background; see UnmarshalContext.
func (d *Decoder) Unmarshal(b []byte, v any) error {
	return d.UnmarshalContext(context.Background(), b, v)
}

// UnmarshalContext is Unmarshal with a context for the Resolver.
func (d *Decoder) UnmarshalContext(ctx context.Context, b []byte, v any) error {
	et := targetOf(v)
	if et == nil {
		return fmt.Errorf("%w: cannot unmarshal into %T", ErrUnsupportedType, v)
	}
	w, body, limits, err := d.locate(ctx, b, et)
	if err != nil {
		return err
	}
	return decodeBody(w, body, v, limits)
}

// locate checks b's size, parses its framing and finds the writer schema,
// which must be one of et's.
func (d *Decoder) locate(ctx context.Context, b []byte, et *eventType) (*writer, []byte, Limits, error) {
	limits := d.limits.withDefaults()
	if len(b) > limits.MaxBytes {
		return nil, nil, limits, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), limits.MaxBytes)
	}
	w, body, err := d.writerFor(ctx, b)
	if err != nil {
		return nil, nil, limits, err
	}
	if w.event != et {
		return nil, nil, limits, fmt.Errorf("%w: data is %s, target is %s", ErrWrongType, w.event.short, et.short)
	}
	return w, body, limits, nil
}

// writerFor parses the framing and finds the writer schema.
func (d *Decoder) writerFor(ctx context.Context, b []byte) (*writer, []byte, error) {
	switch {
	case len(b) == 0:
		return nil, nil, fmt.Errorf("%w: empty input", ErrMalformed)
	case b[0] == 0xC3:
		if len(b) < soeHeaderLen || b[1] != 0x01 {
			return nil, nil, fmt.Errorf("%w: truncated or unknown single-object header % x", ErrMalformed, b[:min(len(b), soeHeaderLen)])
		}
		fp := binary.LittleEndian.Uint64(b[2:])
		if w := builtin[fp]; w != nil {
			return w, b[soeHeaderLen:], nil
		}
		if w := d.tables().byFP[fp]; w != nil {
			return w, b[soeHeaderLen:], nil
		}
		return nil, nil, fmt.Errorf("%w: fingerprint %#016x", ErrUnknownSchema, fp)
	case b[0] == 0x00:
		if len(b) < 5 {
			return nil, nil, fmt.Errorf("%w: truncated Confluent header", ErrMalformed)
		}
		id := binary.BigEndian.Uint32(b[1:])
		w, err := d.writerForID(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		return w, b[5:], nil
	}
	return nil, nil, fmt.Errorf("%w: unknown framing, first byte %#02x", ErrMalformed, b[0])
}

func (d *Decoder) writerForID(ctx context.Context, id uint32) (*writer, error) {
	if e, ok := d.tables().byID[id]; ok {
		return e.w, e.err
	}
	if d.resolve == nil {
		return nil, fmt.Errorf("%w: schema id %d (no resolver)", ErrUnknownSchema, id)
	}

	// One lookup per id at a time: a new producer schema otherwise sends
	// every consuming goroutine to the registry at once.
	d.mu.Lock()
	if e, ok := d.tables().byID[id]; ok {
		d.mu.Unlock()
		return e.w, e.err
	}
	r, waiting := d.inflight[id]
	if !waiting {
		r = &resolution{done: make(chan struct{})}
		if d.inflight == nil {
			d.inflight = map[uint32]*resolution{}
		}
		d.inflight[id] = r
	}
	d.mu.Unlock()
	if waiting {
		select {
		case <-r.done:
			return r.w, r.err
		case <-ctx.Done():
			return nil, fmt.Errorf("schemas: resolving schema id %d: %w", id, ctx.Err())
		}
	}

	schema, err := d.resolve(ctx, id)
	d.mu.Lock()
	if err != nil {
		// Not cached: the registry may be down or the id not replicated yet.
		r.err = fmt.Errorf("schemas: resolving schema id %d: %w", id, err)
	} else if w, cerr := compile(schema); cerr != nil {
		r.err = fmt.Errorf("schema id %d: %w", id, cerr)
		d.store(nil, id, true, r.err)
	} else {
		d.store(w, id, true, nil)
		r.w = d.tables().byID[id].w
	}
	delete(d.inflight, id)
	d.mu.Unlock()
	close(r.done)
	return r.w, r.err
}

// decodeBody decodes the hot events written with the current schema on the
// fast path (fastdecode.go), everything else generically.
func decodeBody(w *writer, body []byte, v any, limits Limits) error {
	if fast, err := decodeCurrent(w, body, v, limits); fast {
		return err
	}
	return decodeGeneric(w, body, v, limits)
}

// decodeGeneric guards, decodes with goavro and resolves into v.
func decodeGeneric(w *writer, body []byte, v any, limits Limits) error {
	g := guard{event: w.event.short, b: body, maxItems: int64(limits.MaxItems)}
	if err := g.walk(w.root); err != nil {
		return err
	}
	if g.off != len(body) {
		return fmt.Errorf("%w: %s: %d trailing bytes", ErrMalformed, w.event.short, len(body)-g.off)
	}
	native, err := nativeFromBinary(w, body)
	if err != nil {
		return err
	}
	m, ok := native.(map[string]any)
	if !ok {
		return fmt.Errorf("%w: %s: goavro returned %T for a record", ErrMalformed, w.event.short, native)
	}
	var rerr error
	x := &rd{w: w.root, r: w.event.reader, m: m, err: &rerr, at: w.event.short}
	switch v := v.(type) {
	case *InferenceEvent:
		*v = InferenceEvent{}
		v.read(x)
	case *LabelEvent:
		*v = LabelEvent{}
		v.read(x)
	case *ReferenceProfile:
		*v = ReferenceProfile{}
		v.read(x)
	case *WindowPartial:
		*v = WindowPartial{}
		v.read(x)
	case *MetricWindow:
		*v = MetricWindow{}
		v.read(x)
	case *Trigger:
		*v = Trigger{}
		v.read(x)
	case *DeadLetter:
		*v = DeadLetter{}
		v.read(x)
	}
	return rerr
}

func nativeFromBinary(w *writer, body []byte) (native any, err error) {
	defer func() {
		if r := recover(); r != nil {
			native, err = nil, fmt.Errorf("%w: %s: %w: %v", ErrMalformed, w.event.short, errPanic, r)
		}
	}()
	native, rest, err := w.codec.NativeFromBinary(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, w.event.short, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %s: %d trailing bytes", ErrMalformed, w.event.short, len(rest))
	}
	return native, nil
}

// targetOf maps a decode target to its event; only non-nil pointers qualify.
func targetOf(v any) *eventType {
	switch v := v.(type) {
	case *InferenceEvent:
		if v != nil {
			return evInference
		}
	case *LabelEvent:
		if v != nil {
			return evLabel
		}
	case *ReferenceProfile:
		if v != nil {
			return evReference
		}
	case *WindowPartial:
		if v != nil {
			return evPartial
		}
	case *MetricWindow:
		if v != nil {
			return evMetric
		}
	case *Trigger:
		if v != nil {
			return evTrigger
		}
	case *DeadLetter:
		if v != nil {
			return evDeadLetter
		}
	}
	return nil
}

// eventOf maps an event value or non-nil pointer to its event.
func eventOf(v any) *eventType {
	switch v.(type) {
	case InferenceEvent:
		return evInference
	case LabelEvent:
		return evLabel
	case ReferenceProfile:
		return evReference
	case WindowPartial:
		return evPartial
	case MetricWindow:
		return evMetric
	case Trigger:
		return evTrigger
	case DeadLetter:
		return evDeadLetter
	}
	return targetOf(v)
}
