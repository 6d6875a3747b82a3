package loadgen

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// Record is one raw record. Key and Value live in a buffer shared with the
// records around them and are never reused, so a Kafka client may hold them
// until they are produced.
type Record struct {
	Label bool // a label for the label source, else an inference
	Key   []byte
	Value []byte
	Time  time.Time
}

// pendingLabel is a request waiting for its label's event time.
type pendingLabel struct {
	req   int64
	class bool
	due   time.Time
}

// Generator produces the records of one Options, in event-time order. It is
// not safe for concurrent use.
type Generator struct {
	o     Options
	step  time.Duration
	fs    []feature
	base  [][][]byte // per feature: pre-formatted undrifted values
	drift [][][]byte // per feature: drifted values, nil if never drifted
	at    []time.Time
	keys  [][]byte // per feature: `"f000":`
	heads [][]byte // per model: `","model_id":"…","model_version":"v1","variant":"`
	segs  [][]byte // per segment: `{"region":"seg-1"}`
	score [][]byte
	lat   [][]byte
	seed  string
	max   int // bytes a record can take at most

	rnd     uint64         // xorshift state: the hot path draws a value per feature
	n       int64          // inference records so far
	req     int64          // requests so far
	shadow  bool           // the last request's shadow prediction is next
	labels  []pendingLabel // FIFO: due times ascend with a fixed delay
	slab    []byte
	lastReq requestState
}

// requestState is what a shadow prediction repeats of its production twin.
type requestState struct {
	model, seg int
	idx        []uint16 // value index per feature
	t          time.Time
	class      bool
}

// New returns a Generator for o.
func New(o Options) (*Generator, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	g := &Generator{o: o, step: o.Window / time.Duration(o.EventsPerWindow), fs: newFeatures(o),
		seed: strconv.FormatUint(o.Seed, 10), rnd: o.Seed*0x9E3779B97F4A7C15 | 1}
	r := rand.New(rand.NewPCG(o.Seed, 2))
	g.base = make([][][]byte, len(g.fs))
	g.drift = make([][][]byte, len(g.fs))
	g.at = make([]time.Time, len(g.fs))
	g.keys = make([][]byte, len(g.fs))
	longest := 0
	for i := range g.fs {
		f := &g.fs[i]
		g.base[i] = f.table(r, 0, o.MissingShare)
		g.keys[i] = []byte(strconv.Quote(f.name) + ":")
		for _, d := range o.Drift {
			if d.Feature == f.name {
				g.drift[i] = f.table(r, d.Shift, o.MissingShare)
				g.at[i] = o.Start.Add(d.At)
			}
		}
		w := 0
		for _, tab := range [][][]byte{g.base[i], g.drift[i]} {
			for _, v := range tab {
				w = max(w, len(v))
			}
		}
		longest += len(g.keys[i]) + w + 1
	}
	for m := range o.Models {
		g.heads = append(g.heads, []byte(`","model_id":`+strconv.Quote(ModelID(m))+`,"model_version":"`+ModelVersion+`","variant":"`))
	}
	for s := range o.Segments {
		g.segs = append(g.segs, []byte(`{"region":"seg-`+strconv.Itoa(s)+`"}`))
	}
	for range tableSize {
		g.score = append(g.score, strconv.AppendFloat(nil, float64(r.IntN(1000))/1000, 'f', -1, 64))
		g.lat = append(g.lat, strconv.AppendFloat(nil, 2+float64(r.IntN(300))/10, 'f', -1, 64))
	}
	g.max = longest + 512 + len(g.seed)
	g.lastReq.idx = make([]uint16, len(g.fs))
	return g, nil
}

// Options returns what g generates.
func (g *Generator) Options() Options { return g.o }

// Inferences returns how many inference records g produced.
func (g *Generator) Inferences() int64 { return g.n }

func (g *Generator) rand() uint64 {
	x := g.rnd
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	g.rnd = x
	return x * 0x2545F4914F6CDD1D
}

// Next returns the next record: a due label, a pending shadow prediction, or
// the next request's production prediction.
func (g *Generator) Next() Record {
	if len(g.labels) > 0 && !g.labels[0].due.After(g.now()) {
		l := g.labels[0]
		g.labels = g.labels[1:]
		return g.label(l)
	}
	if g.shadow {
		g.shadow = false
		st := g.lastReq // idx is shared: read only
		// A shadow disagrees with production one time in five.
		if g.rand()%5 == 0 {
			st.class = !st.class
		}
		return g.inference(&st, "shadow")
	}
	g.req++
	st := &g.lastReq
	st.model = int(g.rand() % uint64(g.o.Models))
	st.seg = int(g.rand() % uint64(g.o.Segments))
	st.t = g.now()
	st.class = g.rand()%10 < 3
	for i := 0; i < len(st.idx); i += 4 {
		x := g.rand()
		for j := i; j < min(i+4, len(st.idx)); j++ {
			st.idx[j] = uint16(x) & (tableSize - 1)
			x >>= 16
		}
	}
	if g.o.ShadowShare > 0 && float64(g.rand()>>11)/(1<<53) < g.o.ShadowShare {
		g.shadow = true
	}
	if g.o.LabelShare > 0 && float64(g.rand()>>11)/(1<<53) < g.o.LabelShare {
		g.labels = append(g.labels, pendingLabel{req: g.req, class: st.class, due: st.t.Add(g.o.LabelDelay)})
	}
	return g.inference(st, "production")
}

// now is the event time of the next inference record.
func (g *Generator) now() time.Time { return g.o.Start.Add(time.Duration(g.n) * g.step) }

// buf returns an empty slice with room for one record in the shared slab.
func (g *Generator) buf() []byte {
	if cap(g.slab)-len(g.slab) < g.max {
		g.slab = make([]byte, 0, max(1<<20, 4*g.max))
	}
	return g.slab[len(g.slab):len(g.slab)]
}

// cut takes b, which buf returned and was appended to within its room, out
// of the slab.
func (g *Generator) cut(b []byte) []byte {
	g.slab = g.slab[:len(g.slab)+len(b)]
	return b[:len(b):len(b)]
}

func (g *Generator) key(req int64) []byte {
	b := g.buf()
	b = append(b, 'r')
	b = append(b, g.seed...)
	b = append(b, '-')
	b = strconv.AppendInt(b, req, 10)
	return g.cut(b)
}

func (g *Generator) inference(st *requestState, variant string) Record {
	req := g.req
	key := g.key(req)
	g.n++
	b := g.buf()
	b = append(b, `{"event_id":"`...)
	b = append(b, key...)
	b = append(b, '/')
	b = append(b, variant...)
	b = append(b, `","request_id":"`...)
	b = append(b, key...)
	b = append(b, g.heads[st.model]...)
	b = append(b, variant...)
	b = append(b, `","timestamp":`...)
	b = strconv.AppendInt(b, st.t.UnixMilli(), 10)
	b = append(b, `,"features":{`...)
	for i, idx := range st.idx {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, g.keys[i]...)
		tab := g.base[i]
		if g.drift[i] != nil && !st.t.Before(g.at[i]) {
			tab = g.drift[i]
		}
		b = append(b, tab[idx]...)
	}
	x := g.rand()
	b = append(b, `},"prediction":{"class":`...)
	if st.class {
		b = append(b, `"yes"`...)
	} else {
		b = append(b, `"no"`...)
	}
	b = append(b, `,"score":`...)
	b = append(b, g.score[x&(tableSize-1)]...)
	b = append(b, `},"latency_ms":`...)
	b = append(b, g.lat[(x>>16)&(tableSize-1)]...)
	b = append(b, `,"segments":`...)
	b = append(b, g.segs[st.seg]...)
	b = append(b, '}')
	return Record{Key: key, Value: g.cut(b), Time: st.t}
}

func (g *Generator) label(l pendingLabel) Record {
	key := g.key(l.req)
	b := g.buf()
	b = append(b, `{"request_id":"`...)
	b = append(b, key...)
	b = append(b, `","label":`...)
	if l.class {
		b = append(b, `"yes"`...)
	} else {
		b = append(b, `"no"`...)
	}
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, l.due.UnixMilli(), 10)
	b = append(b, '}')
	return Record{Label: true, Key: key, Value: g.cut(b), Time: l.due}
}
