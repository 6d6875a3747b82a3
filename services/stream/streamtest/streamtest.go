// Package streamtest gives tests an in-process Kafka (franz-go's kfake) to
// produce to, for handlers whose output goes to a topic the test does not
// read back.
package streamtest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer returns a client of a fresh one-broker kfake cluster holding
// topics (one partition each); both are closed when the test ends.
func Producer(t testing.TB, topics ...string) *kgo.Client {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
