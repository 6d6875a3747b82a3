package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/stream"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// partialsState describes, for a run that did not finish, what level 2 can
// see: per partials partition and family, each source partition's last
// heartbeat, the offset range of the window partials, and the consumer
// groups' committed offsets. A window stays open when some source
// partition's watermark never reaches it on the window's partials partition.
func (r *faultRun) partialsState() string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := stream.NewTopics(r.cfg.Kafka.Prefix).Partials()
	cl, err := kgo.NewClient(append(r.cfg.Kafka.Options(nil),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))...)
	if err != nil {
		return err.Error()
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Sprintf("end offsets of %s: %v", topic, err)
	}
	type beat struct {
		wm     time.Time
		idle   bool
		offset int64
	}
	type key struct {
		pp     int32
		family string
		src    int32
	}
	beats := map[key]beat{}
	windows := map[string][]string{} // pp/family → "window src rev count @offset"
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	// Reading stops at the end offsets listed above, or when a poll brings
	// nothing for two seconds (a partition that ends in records this
	// reader skips).
	for len(left) > 0 && ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		n := 0
		fs.EachRecord(func(rec *kgo.Record) {
			n++
			if rec.Offset+1 >= left[rec.Partition] {
				delete(left, rec.Partition)
			}
			var p schemas.WindowPartial
			if schemas.Unmarshal(rec.Value, &p) != nil {
				return
			}
			if p.ModelID == "" {
				beats[key{rec.Partition, p.Family, p.SourcePartition}] = beat{p.Watermark, p.Idle, rec.Offset}
				return
			}
			k := fmt.Sprintf("pp %d %s", rec.Partition, p.Family)
			windows[k] = append(windows[k], fmt.Sprintf("%s/%s s%d r%d n%d @%d", p.WindowStart.UTC().Format("15:04"), p.Variant, p.SourcePartition, p.Revision, p.Count, rec.Offset))
		})
		if n == 0 {
			break
		}
	}
	var b strings.Builder
	keys := make([]key, 0, len(beats))
	for k := range beats {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, c := keys[i], keys[j]
		if a.family != c.family {
			return a.family < c.family
		}
		if a.pp != c.pp {
			return a.pp < c.pp
		}
		return a.src < c.src
	})
	b.WriteString("  last heartbeats (family, partials partition, source partition: watermark idle @offset):\n")
	for _, k := range keys {
		h := beats[k]
		fmt.Fprintf(&b, "    %s pp%d s%d: %s idle=%v @%d\n", k.family, k.pp, k.src, h.wm.UTC().Format("15:04:05"), h.idle, h.offset)
	}
	wk := make([]string, 0, len(windows))
	for k := range windows {
		wk = append(wk, k)
	}
	sort.Strings(wk)
	for _, k := range wk {
		if strings.Contains(k, "performance") {
			fmt.Fprintf(&b, "  partials %s: %s\n", k, strings.Join(windows[k], ", "))
		}
	}
	groups := adm.FetchManyOffsets(ctx, r.groups()...)
	for _, g := range r.groups() {
		if err := groups[g].Err; err != nil {
			fmt.Fprintf(&b, "  committed %s: %v\n", g, err)
			continue
		}
		var offs []string
		groups[g].Fetched.Each(func(o kadm.OffsetResponse) {
			offs = append(offs, fmt.Sprintf("%s[%d]=%d", strings.TrimPrefix(o.Topic, r.cfg.Kafka.Prefix), o.Partition, o.At))
		})
		sort.Strings(offs)
		fmt.Fprintf(&b, "  committed %s: %s\n", g, strings.Join(offs, " "))
	}
	return b.String()
}

// groups are the run's level-1 and level-2 consumer groups.
func (r *faultRun) groups() []string {
	var gs []string
	for _, n := range []string{"drift-l1", "drift-l2", "feedback-l1", "feedback-l2", "shadow-l1", "shadow-l2"} {
		gs = append(gs, r.cfg.GroupPrefix+n)
	}
	return gs
}
