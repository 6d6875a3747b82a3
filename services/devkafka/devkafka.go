// Package devkafka runs an in-process Kafka (franz-go's kfake) for the
// embedded default and for tests. With a data directory, topics, records and
// committed offsets survive a restart.
package devkafka

import (
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Cluster is a running in-process Kafka.
type Cluster struct {
	c *kfake.Cluster
}

// Options configure Start.
type Options struct {
	// DataDir keeps the cluster's state on disk; "" keeps it in memory.
	DataDir string
	// Port to listen on (127.0.0.1); 0 picks a free one.
	Port int
	// Partitions for auto-created topics.
	Partitions int32
}

// Start starts a one-broker cluster listening on 127.0.0.1.
func Start(o Options) (*Cluster, error) {
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
	}
	if o.Partitions > 0 {
		opts = append(opts, kfake.DefaultNumPartitions(int(o.Partitions)))
	}
	if o.Port > 0 {
		opts = append(opts, kfake.Ports(o.Port))
	}
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("kafka data dir: %w", err)
		}
		opts = append(opts, kfake.DataDir(o.DataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start in-process kafka: %w", err)
	}
	return &Cluster{c: c}, nil
}

// Brokers returns the addresses clients connect to.
func (c *Cluster) Brokers() []string { return c.c.ListenAddrs() }

// Close stops the cluster, flushing its data directory.
func (c *Cluster) Close() { c.c.Close() }
