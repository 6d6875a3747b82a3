package aggregate

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/window"
)

// A window's state is the partials level 2 merged it from, so that a view
// merges them again through the family's own Computer: what a window's
// metrics are made of is what a view's are made of.

// Merger is a Computer that can merge partials into fewer that compute to
// the same metrics. A window's stored state is then one partial (per
// reference profile) instead of one per source partition, and a view
// merges its windows as it reads them instead of holding them all.
type Merger interface {
	Merge(ps []schemas.WindowPartial) ([]schemas.WindowPartial, error)
}

// viewChunk is how many windows a view reads from the store at a time
// before merging them (with a Merger), which bounds the memory of a long
// view: a day of five-minute windows is 288.
const viewChunk = 24

// maxStateBytes bounds a stored state read back: a window's partials are a
// few kilobytes per source partition, so this is far beyond any real one.
const maxStateBytes = 256 << 20

// EncodeState returns the stored form of a window's partials: each one's
// Avro single-object encoding after its length as a uvarint.
func EncodeState(ps []schemas.WindowPartial) ([]byte, error) {
	var b []byte
	for i := range ps {
		enc, err := schemas.Marshal(&ps[i])
		if err != nil {
			return nil, fmt.Errorf("encode partial of source partition %d: %w", ps[i].SourcePartition, err)
		}
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	}
	return b, nil
}

// DecodeState reads what EncodeState wrote.
func DecodeState(b []byte) ([]schemas.WindowPartial, error) {
	if len(b) > maxStateBytes {
		return nil, fmt.Errorf("state of %d bytes, more than %d", len(b), maxStateBytes)
	}
	var out []schemas.WindowPartial
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errors.New("state: bad length")
		}
		b = b[k:]
		if n > uint64(len(b)) {
			return nil, fmt.Errorf("state: partial of %d bytes, %d left", n, len(b))
		}
		var p schemas.WindowPartial
		if err := schemas.Unmarshal(b[:n], &p); err != nil {
			return nil, fmt.Errorf("state: partial %d: %w", len(out), err)
		}
		out = append(out, p)
		b = b[n:]
	}
	return out, nil
}

// WriteStates stores the state of finished windows, with a token derived
// from their windows and revisions, so a retry is absorbed. merge, if not
// nil, merges each window's partials first.
func WriteStates(ctx context.Context, st store.Store, fs []window.Final, now time.Time, merge Merger) error {
	if len(fs) == 0 {
		return nil
	}
	h := sha256.New()
	rows := make([]store.Row, 0, len(fs))
	for i := range fs {
		f := &fs[i]
		k := f.Key
		fmt.Fprintf(h, "%s|%s|%s|%s|%s|%d|%d|%d\n", k.ModelID, k.ModelVersion, k.Variant, k.Segment, k.Family,
			k.Start.UnixMilli(), k.End.UnixMilli(), f.Revision)
		ps := f.Partials
		if merge != nil {
			var err error
			if ps, err = merge.Merge(ps); err != nil {
				return fmt.Errorf("merge window %s %s %s: %w", k.Family, k.ModelID, k.Start.Format(time.RFC3339), err)
			}
		}
		b, err := EncodeState(ps)
		if err != nil {
			return fmt.Errorf("state of window %s %s %s: %w", k.Family, k.ModelID, k.Start.Format(time.RFC3339), err)
		}
		rows = append(rows, store.Row{
			"model_id": k.ModelID, "model_version": k.ModelVersion, "variant": k.Variant, "segment": k.Segment,
			"family": k.Family, "window_start": k.Start, "window_end": k.End,
			"revision": uint32(max(f.Revision, 0)), "computed_at": now.UTC(), "partials": b,
		})
	}
	if err := st.Insert(ctx, "window_states", "states-"+hex.EncodeToString(h.Sum(nil)), rows); err != nil {
		return fmt.Errorf("insert %d window states: %w", len(rows), err)
	}
	return nil
}

// View is a longer view ready to be computed: the partials of every window
// of it that finished, as one Final whose key spans the view, and the
// number of those windows.
type View struct {
	window.Final
	Windows int
}

// LoadView reads the latest state of every finished window of series k
// (Family, ModelID, ModelVersion, Variant, Segment) of size k.Window that
// lies in [k.Start, k.End), viewChunk windows at a time, merged with merge
// if it is not nil. The view's revision grows with every window added or
// revised: it is the number of revisions its windows went out under, less
// one, so an instance computed again from the same states keeps its
// revision (and insert token), and one that took a late update goes out
// above it.
func LoadView(ctx context.Context, st store.Store, k window.ViewKey, merge Merger) (View, error) {
	vs, err := LoadViews(ctx, st, []window.ViewKey{k}, merge)
	if err != nil {
		return View{}, err
	}
	return vs[0], nil
}

// LoadViews loads views as LoadView does, in the order of keys. Views of
// the same family, window size and bounds, at most viewChunk windows long
// (the views of one flush of level 2, mostly), are read in one query.
func LoadViews(ctx context.Context, st store.Store, keys []window.ViewKey, merge Merger) ([]View, error) {
	type rangeKey struct {
		family     string
		size       time.Duration
		start, end int64
	}
	out := make([]View, len(keys))
	revisions := make([]int64, len(keys))
	groups := map[rangeKey][]int{}
	var order []rangeKey
	for i, k := range keys {
		if k.Window <= 0 {
			return nil, fmt.Errorf("view of windows of size %s", k.Window)
		}
		out[i] = View{Final: window.Final{Key: k.Key}}
		if k.End.Sub(k.Start) > viewChunk*k.Window {
			// Long: read and merged a chunk at a time.
			for from := k.Start; from.Before(k.End); from = from.Add(viewChunk * k.Window) {
				to := from.Add(viewChunk * k.Window)
				if to.After(k.End) {
					to = k.End
				}
				if err := loadStates(ctx, st, keys, []int{i}, from, to, out, revisions, merge); err != nil {
					return nil, err
				}
			}
			continue
		}
		rk := rangeKey{k.Family, k.Window, k.Start.UnixMilli(), k.End.UnixMilli()}
		if groups[rk] == nil {
			order = append(order, rk)
		}
		groups[rk] = append(groups[rk], i)
	}
	for _, rk := range order {
		idx := groups[rk]
		if err := loadStates(ctx, st, keys, idx, keys[idx[0]].Start, keys[idx[0]].End, out, revisions, merge); err != nil {
			return nil, err
		}
	}
	for i := range out {
		out[i].Revision = int32(min(max(revisions[i]-1, 0), math.MaxInt32))
	}
	return out, nil
}

// loadStates adds the windows in [from, to) of the series of keys[i], for
// each i in idx (of one family and window size), to their views out[i],
// and the number of revisions they went out under to revs[i], then merges
// each view that grew.
func loadStates(ctx context.Context, st store.Store, keys []window.ViewKey, idx []int, from, to time.Time, out []View, revs []int64, merge Merger) error {
	type series struct{ model, version, variant, segment string }
	at := make(map[series][]int, len(idx))
	tuples := make([]string, 0, len(idx))
	for _, i := range idx {
		k := keys[i]
		sk := series{k.ModelID, k.ModelVersion, k.Variant, k.Segment}
		if at[sk] == nil {
			tuples = append(tuples, "("+store.Quote(k.ModelID)+", "+store.Quote(k.ModelVersion)+", "+store.Quote(k.Variant)+", "+
				store.Quote(k.Segment)+")")
		}
		at[sk] = append(at[sk], i)
	}
	first := keys[idx[0]]
	q := fmt.Sprintf(`
SELECT model_id, model_version, variant, segment, window_start, revision, base64Encode(partials)
FROM
(
    SELECT model_id, model_version, variant, segment, window_start, revision, partials
    FROM window_states
    WHERE family = %s AND (model_id, model_version, variant, segment) IN (%s)
      AND window_start >= %s AND window_end <= %s
      AND dateDiff('millisecond', window_start, window_end) = %d
    ORDER BY revision DESC
    LIMIT 1 BY model_id, model_version, variant, segment, window_start, window_end
)
ORDER BY model_id, model_version, variant, segment, window_start`,
		store.Quote(first.Family), strings.Join(tuples, ", "), store.TimeLiteral(from), store.TimeLiteral(to), first.Window.Milliseconds())
	res, err := st.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("read window states: %w", err)
	}
	grew := map[int]bool{}
	for _, r := range res.Rows {
		if len(r) != 7 {
			return fmt.Errorf("read window states: row of %d columns, want 7", len(r))
		}
		var sk series
		for j, f := range []*string{&sk.model, &sk.version, &sk.variant, &sk.segment} {
			var ok bool
			if *f, ok = r[j].(string); !ok {
				return fmt.Errorf("read window states: column %d: got %T, want a string", j, r[j])
			}
		}
		is, ok := at[sk]
		if !ok {
			return fmt.Errorf("read window states: a row of series %v, which was not asked for", sk)
		}
		rev, err := store.Int(r[5])
		if err != nil {
			return fmt.Errorf("read window states: revision: %w", err)
		}
		s, ok := r[6].(string)
		if !ok {
			return fmt.Errorf("read window states: partials: got %T, want a string", r[6])
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("read window states: partials: %w", err)
		}
		got, err := DecodeState(b)
		if err != nil {
			return fmt.Errorf("window state of %v %v: %w", sk, r[4], err)
		}
		for _, i := range is {
			out[i].Partials = append(out[i].Partials, got...)
			out[i].Windows++
			revs[i] += rev + 1
			grew[i] = true
		}
	}
	if merge == nil {
		return nil
	}
	for i := range grew {
		if out[i].Partials, err = merge.Merge(out[i].Partials); err != nil {
			return fmt.Errorf("merge window states: %w", err)
		}
	}
	return nil
}

// ViewMetrics are the metrics computed for one view.
type ViewMetrics struct {
	View    View
	Metrics []schemas.MetricWindow
}

// WriteViewMetrics inserts the metrics of views in one insert, with a
// token derived from the views, their revisions and values (see
// WriteMetrics).
func WriteViewMetrics(ctx context.Context, st store.Store, vs []ViewMetrics) error {
	h := sha256.New()
	var rows []store.Row
	for _, v := range vs {
		for i := range v.Metrics {
			m := &v.Metrics[i]
			hashMetric(h, m)
			row := MetricRow(m)
			row["windows"] = uint32(v.View.Windows)
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := st.Insert(ctx, "metric_views", "views-"+hex.EncodeToString(h.Sum(nil)), rows); err != nil {
		return fmt.Errorf("insert %d view metrics: %w", len(rows), err)
	}
	return nil
}
