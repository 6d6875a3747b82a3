// Package trigger is the retrain-trigger's Kafka side: it reads every
// finished window's metrics from driftline.metrics, applies the policies,
// and emits each Trigger to driftline.triggers.retrain (retrain, notify) or
// driftline.triggers.control (rollback, safe_mode) and the triggers table.
package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/policy"
	"github.com/driftline/driftline/services/store"
	"github.com/driftline/driftline/services/stream"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Handler is the retrain-trigger's stream.Handler.
type Handler struct {
	Evaluator *policy.Evaluator
	Producer  *kgo.Client
	Store     store.Store
	Topics    stream.Topics
	// OnTrigger, if set, sees every trigger emitted (for progress output).
	OnTrigger func(schemas.Trigger)

	triggers []schemas.Trigger
	next     stream.Offsets
}

// Handle feeds every metric window to the evaluator.
func (h *Handler) Handle(ctx context.Context, fs kgo.Fetches) error {
	if h.next == nil {
		h.next = stream.Offsets{}
	}
	fs.EachRecord(func(r *kgo.Record) {
		h.next.Set(r.Topic, r.Partition, r.Offset+1)
		var m schemas.MetricWindow
		if err := schemas.Unmarshal(r.Value, &m); err != nil {
			return // written by Driftline's own aggregators; skip what is not a metric
		}
		h.triggers = append(h.triggers, h.Evaluator.Observe(m)...)
	})
	h.triggers = append(h.triggers, h.Evaluator.Flush()...)
	return nil
}

// Flush writes the triggers to the audit table, then to their topics; the
// ids are deterministic, so a replay after a crash rewrites the same rows
// and the insert token absorbs them.
func (h *Handler) Flush(ctx context.Context, _ time.Time) (stream.Offsets, error) {
	if len(h.triggers) > 0 {
		rows := make([]store.Row, 0, len(h.triggers))
		rs := make([]*kgo.Record, 0, len(h.triggers))
		tok := "triggers"
		for i := range h.triggers {
			t := &h.triggers[i]
			row, err := Row(t)
			if err != nil {
				return nil, err
			}
			rows = append(rows, row)
			topic := h.Topics.Retrain()
			if t.Action == schemas.ActionRollback || t.Action == schemas.ActionSafeMode {
				topic = h.Topics.Control()
			}
			r, err := stream.Record(topic, t.ModelID, t)
			if err != nil {
				return nil, err
			}
			rs = append(rs, r)
			tok += "-" + t.TriggerID
		}
		if err := h.Store.Insert(ctx, "triggers", tok, rows); err != nil {
			return nil, fmt.Errorf("insert %d triggers: %w", len(rows), err)
		}
		if err := stream.ProduceSync(ctx, h.Producer, rs...); err != nil {
			return nil, err
		}
		if h.OnTrigger != nil {
			for _, t := range h.triggers {
				h.OnTrigger(t)
			}
		}
		h.triggers = h.triggers[:0]
	}
	offs := h.next
	h.next = stream.Offsets{}
	return offs, nil
}

// Revoked needs nothing: the evaluator is seeded from the triggers table.
func (h *Handler) Revoked(string, []int32) {}

// Row is the triggers-table row of t; the evidence is kept as JSON.
func Row(t *schemas.Trigger) (store.Row, error) {
	ev, err := json.Marshal(t.Evidence)
	if err != nil {
		return nil, fmt.Errorf("trigger %s evidence: %w", t.TriggerID, err)
	}
	return store.Row{
		"trigger_id": t.TriggerID, "model_id": t.ModelID, "model_version": t.ModelVersion, "policy": t.Policy,
		"action": t.Action, "severity": t.Severity, "evidence": string(ev), "created_at": t.CreatedAt,
		"cooldown_until": t.CooldownUntil,
	}, nil
}

// Recent reads the triggers emitted since `since` back from the table, to
// seed the evaluator's cooldowns after a restart.
func Recent(ctx context.Context, st store.Store, since time.Time) ([]schemas.Trigger, error) {
	res, err := st.Query(ctx, fmt.Sprintf(`SELECT trigger_id, model_id, model_version, policy, action, severity,
  toUnixTimestamp64Milli(created_at), toUnixTimestamp64Milli(cooldown_until)
FROM triggers FINAL WHERE cooldown_until >= fromUnixTimestamp64Milli(toInt64(%d)) ORDER BY created_at`, since.UnixMilli()))
	if err != nil {
		return nil, fmt.Errorf("read recent triggers: %w", err)
	}
	var out []schemas.Trigger
	for _, r := range res.Rows {
		if len(r) != 8 {
			return nil, fmt.Errorf("read recent triggers: want 8 columns, got %d", len(r))
		}
		t := schemas.Trigger{}
		t.TriggerID, _ = r[0].(string)
		t.ModelID, _ = r[1].(string)
		t.ModelVersion, _ = r[2].(string)
		t.Policy, _ = r[3].(string)
		t.Action, _ = r[4].(string)
		t.Severity, _ = r[5].(string)
		t.CreatedAt = time.UnixMilli(asInt(r[6])).UTC()
		t.CooldownUntil = time.UnixMilli(asInt(r[7])).UTC()
		out = append(out, t)
	}
	return out, nil
}

func asInt(x any) int64 {
	switch v := x.(type) {
	case int64:
		return v
	case uint64:
		return int64(v)
	case float64:
		return int64(v)
	}
	return 0
}
