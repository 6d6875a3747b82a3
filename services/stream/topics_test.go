package stream

import (
	"regexp"
	"testing"
)

func TestTopicNames(t *testing.T) {
	for _, c := range []struct {
		prefix string
		want   map[string]string
	}{
		{"", map[string]string{
			"inferences": "driftline.inferences", "labels": "driftline.labels", "partials": "driftline.partials",
			"references": "driftline.references", "metrics": "driftline.metrics", "retrain": "driftline.triggers.retrain",
			"control": "driftline.triggers.control", "deadletter": "driftline.deadletter", "raw": "driftline.raw.app",
		}},
		{"staging-dl.", map[string]string{
			"inferences": "staging-dl.inferences", "labels": "staging-dl.labels", "partials": "staging-dl.partials",
			"references": "staging-dl.references", "metrics": "staging-dl.metrics", "retrain": "staging-dl.triggers.retrain",
			"control": "staging-dl.triggers.control", "deadletter": "staging-dl.deadletter", "raw": "staging-dl.raw.app",
		}},
	} {
		tp := NewTopics(c.prefix)
		got := map[string]string{
			"inferences": tp.Inferences(), "labels": tp.Labels(), "partials": tp.Partials(),
			"references": tp.References(), "metrics": tp.Metrics(), "retrain": tp.Retrain(),
			"control": tp.Control(), "deadletter": tp.DeadLetter(), "raw": tp.Raw("app"),
		}
		for k, w := range c.want {
			if got[k] != w {
				t.Errorf("prefix %q: %s topic = %q, want %q", c.prefix, k, got[k], w)
			}
		}
	}
}

// RawPattern is what the adapter's regex consumer subscribes with: it must
// take every raw topic under the prefix and nothing else, in particular not
// the canonical topics the adapter itself writes.
func TestRawPatternAndSource(t *testing.T) {
	for _, c := range []struct {
		prefix string
		topic  string
		source string // "" means not a raw topic
	}{
		{"", "driftline.raw.app", "app"},
		{"", "driftline.raw.labels", "labels"},
		{"", "driftline.raw.a.b-c_d", "a.b-c_d"},
		{"", "driftline.raw.", ""},
		{"", "driftline.raw", ""},
		{"", "driftline.inferences", ""},
		{"", "driftline.labels", ""},
		{"", "driftline.deadletter", ""},
		{"", "xdriftline.raw.app", ""},
		{"", "other.driftline.raw.app", ""},
		{"", "driftlineXraw.app", ""}, // the dots are literal
		{"", "driftline.rawXapp", ""},
		{"", "DRIFTLINE.RAW.app", ""},
		{"prod.", "prod.raw.app", "app"},
		{"prod.", "driftline.raw.app", ""},
		{"a+b.", "a+b.raw.app", "app"}, // regex metacharacters in the prefix
		{"a+b.", "aab.raw.app", ""},
	} {
		tp := NewTopics(c.prefix)
		re, err := regexp.Compile(tp.RawPattern())
		if err != nil {
			t.Fatalf("prefix %q: RawPattern %q does not compile: %v", c.prefix, tp.RawPattern(), err)
		}
		if got, want := re.MatchString(c.topic), c.source != ""; got != want {
			t.Errorf("prefix %q: RawPattern %q matches %q = %v, want %v", c.prefix, tp.RawPattern(), c.topic, got, want)
		}
		if got := tp.Source(c.topic); got != c.source {
			t.Errorf("prefix %q: Source(%q) = %q, want %q", c.prefix, c.topic, got, c.source)
		}
		if c.source != "" && tp.Raw(c.source) != c.topic {
			t.Errorf("prefix %q: Raw(%q) = %q, want %q", c.prefix, c.source, tp.Raw(c.source), c.topic)
		}
	}
}
