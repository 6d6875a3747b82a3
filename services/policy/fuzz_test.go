package policy

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzLoad checks that no input makes Load panic, that every rejection is an
// *Error naming the file, and that whatever Load accepts is a set the
// evaluator can run: defaults filled in, bounds respected, names unique.
// The seed corpus is in testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(example))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Load(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error %q (%T) is not an *Error naming the file", err, err)
			}
			return
		}
		again, err := Load(bytes.NewReader(data), "fuzz.yaml")
		if err != nil || !reflect.DeepEqual(s, again) {
			t.Fatalf("Load is not deterministic: %v", err)
		}
		names := map[string]bool{}
		for _, p := range s.Policies {
			switch {
			case p.Name == "" || names[p.Name]:
				t.Fatalf("missing or duplicate name %q", p.Name)
			case p.Metric == "" || p.Variant == "" || len(p.Models) == 0:
				t.Fatalf("defaults not filled in: %+v", p)
			case p.Windows < 1 || p.Windows > p.Of || p.Of > MaxWindows:
				t.Fatalf("windows %d of %d out of bounds", p.Windows, p.Of)
			case p.Cooldown < 0 || p.Hysteresis < 0:
				t.Fatalf("negative cooldown or hysteresis: %+v", p)
			case !slices.Contains(actions, p.Action) || !slices.Contains(Severities, p.Severity):
				t.Fatalf("unknown action or severity: %+v", p)
			case p.Op != "" && !slices.Contains(ops, p.Op):
				t.Fatalf("unknown op %q", p.Op)
			}
			names[p.Name] = true
		}
		e := NewEvaluator(s)
		for w := range 3 {
			e.Observe(mw("fraud", "age", w, 0.5))
		}
		e.Flush()
	})
}
