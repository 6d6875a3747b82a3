package stream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/driftline/driftline/schemas"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config is how a service reaches Kafka.
type Config struct {
	Brokers  []string `yaml:"brokers"`
	ClientID string   `yaml:"client_id"`
	Prefix   string   `yaml:"prefix"`
	// Transactions makes the Kafka-to-Kafka hops that can (the adapter)
	// produce and commit in one transaction. Off, for a broker without
	// transactions or ACLs for them, they produce then commit, and a crash
	// between the two duplicates their output.
	Transactions bool `yaml:"transactions"`
}

// Options returns the franz-go options common to every Driftline client.
// Producers use franz-go's default partitioner (murmur2 on the key, like the
// Java client), which the co-partitioning of inferences and labels relies on.
func (c Config) Options(logger *slog.Logger) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ProducerLinger(5 * time.Millisecond),
		// Records wait out a broker that is down or restarting, however
		// many dials fail meanwhile, but not forever.
		kgo.RecordDeliveryTimeout(2 * time.Minute),
		kgo.RecordPartitioner(Partitioner()),
		// Output of an aborted transaction (a crashed adapter) is never
		// read: without this franz-go reads uncommitted records.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	}
	if c.ClientID != "" {
		opts = append(opts, kgo.ClientID(c.ClientID))
	}
	if logger != nil {
		opts = append(opts, kgo.WithLogger(kgoLogger{logger}))
	}
	return opts
}

// kgoLogger forwards franz-go's warnings and errors to slog; its info and
// debug output is too chatty for a service log.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }
func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	switch level {
	case kgo.LogLevelError:
		k.l.Error(msg, keyvals...)
	default:
		k.l.Warn(msg, keyvals...)
	}
}

// Record encodes v (a pointer to a canonical event) as an Avro record for topic.
func Record(topic, key string, v any) (*kgo.Record, error) {
	b, err := schemas.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T for %s: %w", v, topic, err)
	}
	r := &kgo.Record{Topic: topic, Value: b}
	if key != "" {
		r.Key = []byte(key)
	}
	return r, nil
}

// produceAttempts bounds how often ProduceSync produces failed records.
const produceAttempts = 30

// ProduceSync produces records and waits until every one is acknowledged.
// Records that failed because a broker was unreachable or still starting
// are produced again, once a second, while ctx lasts: franz-go gives up on
// them by itself there (an idempotent producer whose ID it cannot
// initialise while a restarting broker closes connections). A record may
// then be written twice, which every consumer of Driftline's topics absorbs
// as it absorbs the replays after a crash.
func ProduceSync(ctx context.Context, cl *kgo.Client, rs ...*kgo.Record) error {
	for attempt := 1; len(rs) > 0; attempt++ {
		var failed []*kgo.Record
		var first error
		for _, r := range cl.ProduceSync(ctx, rs...) {
			if r.Err != nil {
				failed = append(failed, r.Record)
				first = cmp.Or(first, r.Err)
			}
		}
		if first == nil {
			return nil
		}
		if attempt == produceAttempts || !brokerUnavailable(first) {
			return fmt.Errorf("produce to %s: %w", rs[0].Topic, first)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("produce to %s: %w (after %v)", rs[0].Topic, ctx.Err(), first)
		case <-time.After(time.Second):
		}
		rs = failed
	}
	return nil
}

// brokerUnavailable reports whether err is a broker's that is down or
// restarting: a failed dial, a connection closed at once, a retriable
// Kafka error.
func brokerUnavailable(err error) bool {
	var eof *kgo.ErrFirstReadEOF
	var op *net.OpError
	return errors.As(err, &eof) || errors.As(err, &op) || kerr.IsRetriable(err)
}
