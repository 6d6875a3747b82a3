// Package trigger is the retrain-trigger's Kafka side: it reads every
// finished window's metrics from driftline.metrics, applies the policies,
// and emits each Trigger to driftline.triggers.retrain (retrain, notify) or
// driftline.triggers.control (rollback, safe_mode) and the triggers table.
package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
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

// Flush publishes the triggers to their topics, then records them in the
// audit table. The table seeds the evaluator after a restart, which then
// suppresses every firing it holds, so a trigger must be in the table only
// once it is published: if the insert fails instead, the replay fires and
// publishes the trigger again with the same id (at least once, and
// consumers deduplicate by trigger_id), and the insert token absorbs a
// rewrite of rows that did land.
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
		if err := stream.ProduceSync(ctx, h.Producer, rs...); err != nil {
			return nil, err
		}
		if err := h.Store.Insert(ctx, "triggers", tok, rows); err != nil {
			return nil, fmt.Errorf("insert %d triggers: %w", len(rows), err)
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

// Row is the triggers-table row of t; the evidence is kept as JSON (see
// evidenceWindow), which Recent reads back.
func Row(t *schemas.Trigger) (store.Row, error) {
	ev, err := encodeEvidence(t.Evidence)
	if err != nil {
		return nil, fmt.Errorf("trigger %s evidence: %w", t.TriggerID, err)
	}
	return store.Row{
		"trigger_id": t.TriggerID, "model_id": t.ModelID, "model_version": t.ModelVersion, "policy": t.Policy,
		"action": t.Action, "severity": t.Severity, "evidence": string(ev), "created_at": t.CreatedAt,
		"cooldown_until": t.CooldownUntil,
	}, nil
}

// Recent reads back from the table the triggers whose cooldown had not
// ended by since, oldest first and with their evidence, to seed the
// evaluator's cooldowns and hysteresis after a restart.
func Recent(ctx context.Context, st store.Store, since time.Time) ([]schemas.Trigger, error) {
	ts, err := read(ctx, st, fmt.Sprintf("cooldown_until >= fromUnixTimestamp64Milli(toInt64(%d))", since.UnixMilli()))
	if err != nil {
		return nil, fmt.Errorf("read recent triggers: %w", err)
	}
	return ts, nil
}

// ForModel reads back every trigger emitted for a model, oldest first.
func ForModel(ctx context.Context, st store.Store, modelID string) ([]schemas.Trigger, error) {
	ts, err := read(ctx, st, "model_id = "+store.Quote(modelID))
	if err != nil {
		return nil, fmt.Errorf("read triggers of %s: %w", modelID, err)
	}
	return ts, nil
}

func read(ctx context.Context, st store.Store, where string) ([]schemas.Trigger, error) {
	res, err := st.Query(ctx, `SELECT trigger_id, model_id, model_version, policy, action, severity,
  toUnixTimestamp64Milli(created_at), toUnixTimestamp64Milli(cooldown_until), evidence
FROM triggers FINAL WHERE `+where+` ORDER BY created_at, trigger_id`)
	if err != nil {
		return nil, err
	}
	var out []schemas.Trigger
	for _, r := range res.Rows {
		if len(r) != 9 {
			return nil, fmt.Errorf("want 9 columns, got %d", len(r))
		}
		t := schemas.Trigger{}
		t.TriggerID, _ = r[0].(string)
		t.ModelID, _ = r[1].(string)
		t.ModelVersion, _ = r[2].(string)
		t.Policy, _ = r[3].(string)
		t.Action, _ = r[4].(string)
		t.Severity, _ = r[5].(string)
		created, err := store.Int(r[6])
		if err != nil {
			return nil, fmt.Errorf("created_at: %w", err)
		}
		until, err := store.Int(r[7])
		if err != nil {
			return nil, fmt.Errorf("cooldown_until: %w", err)
		}
		t.CreatedAt, t.CooldownUntil = time.UnixMilli(created).UTC(), time.UnixMilli(until).UTC()
		// A row whose evidence does not read (edited by hand) still
		// restores its cooldown; only its hysteresis is lost.
		ev, _ := r[8].(string)
		t.Evidence, _ = decodeEvidence(ev)
		out = append(out, t)
	}
	return out, nil
}

// evidenceWindow is one evidence window as the triggers table keeps it:
// encoding/json's rendering of schemas.MetricWindow (field names as keys,
// times in RFC 3339), except that the numbers JSON cannot express, NaN and
// the infinities, are the strings "NaN", "+Inf" and "-Inf". Evidence is
// written by Driftline from metrics it computed, but a non-finite value in
// it must never make a trigger unwritable: the service would stop on it for
// good.
type evidenceWindow struct {
	schemas.MetricWindow
	Value     jsonFloat
	Threshold *jsonFloat
	PValue    *jsonFloat
}

func encodeEvidence(ms []schemas.MetricWindow) (string, error) {
	if ms == nil {
		return "null", nil
	}
	ws := make([]evidenceWindow, len(ms))
	for i, m := range ms {
		ws[i] = evidenceWindow{MetricWindow: m, Value: jsonFloat(m.Value),
			Threshold: (*jsonFloat)(m.Threshold), PValue: (*jsonFloat)(m.PValue)}
	}
	b, err := json.Marshal(ws)
	return string(b), err
}

// decodeEvidence reads what encodeEvidence wrote; "" and "null" are no
// evidence.
func decodeEvidence(s string) ([]schemas.MetricWindow, error) {
	if s == "" || s == "null" {
		return nil, nil
	}
	var ws []evidenceWindow
	if err := json.Unmarshal([]byte(s), &ws); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	ms := make([]schemas.MetricWindow, len(ws))
	for i, w := range ws {
		m := w.MetricWindow
		m.Value, m.Threshold, m.PValue = float64(w.Value), (*float64)(w.Threshold), (*float64)(w.PValue)
		ms[i] = m
	}
	return ms, nil
}

// jsonFloat is a float64 whose NaN and infinities are JSON strings.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	switch x := float64(f); {
	case math.IsNaN(x):
		return []byte(`"NaN"`), nil
	case math.IsInf(x, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(x, -1):
		return []byte(`"-Inf"`), nil
	default:
		return json.Marshal(x)
	}
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = jsonFloat(math.NaN())
		case "+Inf":
			*f = jsonFloat(math.Inf(1))
		case "-Inf":
			*f = jsonFloat(math.Inf(-1))
		default:
			return fmt.Errorf("number %q: want a number, \"NaN\", \"+Inf\" or \"-Inf\"", s)
		}
		return nil
	}
	var x float64
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*f = jsonFloat(x)
	return nil
}
