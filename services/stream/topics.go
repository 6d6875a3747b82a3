// Package stream holds what every Driftline service needs from Kafka: topic
// names, client options, topic creation and the co-partitioning check, and
// the encode-and-produce helpers for canonical events.
package stream

import (
	"regexp"
)

// DefaultPrefix starts every Driftline topic name.
const DefaultPrefix = "driftline."

// Topics names Driftline's topics under a prefix.
type Topics struct {
	Prefix string
}

// NewTopics returns the topic names under prefix ("" means DefaultPrefix).
func NewTopics(prefix string) Topics {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return Topics{Prefix: prefix}
}

func (t Topics) Inferences() string       { return t.Prefix + "inferences" }
func (t Topics) Labels() string           { return t.Prefix + "labels" }
func (t Topics) Partials() string         { return t.Prefix + "partials" }
func (t Topics) References() string       { return t.Prefix + "references" }
func (t Topics) Metrics() string          { return t.Prefix + "metrics" }
func (t Topics) Retrain() string          { return t.Prefix + "triggers.retrain" }
func (t Topics) Control() string          { return t.Prefix + "triggers.control" }
func (t Topics) DeadLetter() string       { return t.Prefix + "deadletter" }
func (t Topics) Raw(source string) string { return t.Prefix + "raw." + source }

// RawPattern matches every raw input topic, for a regex consumer.
func (t Topics) RawPattern() string { return "^" + regexp.QuoteMeta(t.Prefix+"raw.") + ".+" }

// Source returns the source name of a raw topic, or "" if topic is not one.
func (t Topics) Source(topic string) string {
	p := t.Prefix + "raw."
	if len(topic) > len(p) && topic[:len(p)] == p {
		return topic[len(p):]
	}
	return ""
}
