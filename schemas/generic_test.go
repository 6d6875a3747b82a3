package schemas

import (
	"errors"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
)

func TestGeneric(t *testing.T) {
	const schema = `{"type":"record","name":"acme.Scored","fields":[
		{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
		{"name":"f","type":{"type":"map","values":["null","double","string"]}},
		{"name":"opt","type":["null",{"type":"long","logicalType":"timestamp-micros"}]},
		{"name":"xs","type":{"type":"array","items":["null","Scored"]}}]}`
	g, err := NewGeneric(schema)
	if err != nil {
		t.Fatal(err)
	}
	if fp, _ := Fingerprint(schema); fp != g.Fingerprint() || g.Name() != "acme.Scored" {
		t.Errorf("fingerprint %x (want %x), name %q", g.Fingerprint(), fp, g.Name())
	}
	codec, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.UnixMilli(1_763_900_000_250).UTC()
	inner := map[string]any{"ts": t0, "f": map[string]any{}, "opt": nil, "xs": []any{}}
	body, err := codec.BinaryFromNative(nil, map[string]any{
		"ts":  t0,
		"f":   map[string]any{"a": goavro.Union("double", 1.5), "b": goavro.Union("string", "x"), "c": nil},
		"opt": goavro.Union("long.timestamp-micros", t0),
		"xs":  []any{nil, goavro.Union("acme.Scored", inner)},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := g.Decode(body, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	f := m["f"].(map[string]any)
	if f["a"] != 1.5 || f["b"] != "x" || f["c"] != nil || m["opt"] != t0 || m["ts"] != t0 {
		t.Errorf("unions not resolved: %#v", m)
	}
	xs := m["xs"].([]any)
	if xs[0] != nil || xs[1].(map[string]any)["ts"] != t0 {
		t.Errorf("array of union: %#v", xs)
	}

	for name, c := range map[string]struct {
		body []byte
		l    Limits
		want error
	}{
		"trailing":   {append(append([]byte{}, body...), 0), Limits{}, ErrMalformed},
		"truncated":  {body[:len(body)-2], Limits{}, ErrMalformed},
		"too large":  {body, Limits{MaxBytes: 8}, ErrTooLarge},
		"many items": {body, Limits{MaxItems: 3}, ErrTooLarge},
		"huge count": {[]byte{2, 0xfe, 0xff, 0xff, 0xff, 0x0f}, Limits{}, ErrMalformed},
	} {
		if _, err := g.Decode(c.body, c.l); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	if _, err := NewGeneric(`{"type":"record","name":"X"}`); !errors.Is(err, ErrInvalidSchema) {
		t.Errorf("invalid schema: got %v", err)
	}
}
