package stream

import "github.com/twmb/franz-go/pkg/kgo"

// Partitioner hashes keyed records with murmur2 exactly as franz-go's and the
// Java client's default partitioner do, and sends a keyless record to the
// partition set on it. Heartbeats use that to reach every partition of the
// partials topic; everything else Driftline produces is keyed.
func Partitioner() kgo.Partitioner { return partitioner{kgo.StickyKeyPartitioner(nil)} }

type partitioner struct{ keyed kgo.Partitioner }

func (p partitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return topicPartitioner{p.keyed.ForTopic(topic)}
}

type topicPartitioner struct{ keyed kgo.TopicPartitioner }

func (topicPartitioner) RequiresConsistency(*kgo.Record) bool { return true }

func (t topicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Key != nil {
		return t.keyed.Partition(r, n)
	}
	if p := int(r.Partition); p >= 0 && p < n {
		return p
	}
	return 0
}
