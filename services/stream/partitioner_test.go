package stream

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// testKeys are keys of every length up to 64 bytes (murmur2 treats the tail
// of 1–3 bytes specially), request-id-like strings and the empty key.
func testKeys() [][]byte {
	r := rand.New(rand.NewPCG(7, 11))
	keys := [][]byte{{}, []byte("r1"), []byte("churn-model/v1"), []byte("ünïcödé-ключ")}
	for n := 1; n <= 64; n++ {
		for i := 0; i < 8; i++ {
			k := make([]byte, n)
			for j := range k {
				k[j] = byte(r.UintN(256))
			}
			keys = append(keys, k)
		}
	}
	for i := 0; i < 500; i++ {
		keys = append(keys, fmt.Appendf(nil, "req-%08x-%d", r.Uint32(), i))
	}
	return keys
}

// Keyed records go exactly where franz-go's default partitioner (murmur2,
// like the Java client) sends them, for any partition count.
func TestPartitionerKeyedMatchesDefault(t *testing.T) {
	keys := testKeys()
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 31, 32, 64, 100, 1000} {
		t.Run(fmt.Sprintf("%d partitions", n), func(t *testing.T) {
			ours := Partitioner().ForTopic("driftline.inferences")
			ref := kgo.StickyKeyPartitioner(nil).ForTopic("driftline.inferences")
			used := map[int]bool{}
			for _, k := range keys {
				// A partition set on the record must not matter for a keyed one.
				r := &kgo.Record{Key: k, Partition: int32(len(k) % 3)}
				got := ours.Partition(r, n)
				want := ref.Partition(&kgo.Record{Key: k}, n)
				if got != want {
					t.Fatalf("key %q: partition %d, franz-go's default partitioner says %d", k, got, want)
				}
				if !ours.RequiresConsistency(r) {
					t.Fatalf("key %q: RequiresConsistency = false; a retried keyed record could move partitions", k)
				}
				used[got] = true
			}
			if n <= 32 && len(used) != n {
				t.Errorf("%d keys used %d of %d partitions", len(keys), len(used), n)
			}
		})
	}
}

// The Java client's murmur2 vectors (Kafka's UtilsTest.testMurmur2), taken
// through Utils.toPositive(h) % n: the partition a Java producer picks.
func TestPartitionerMatchesJavaClient(t *testing.T) {
	javaMurmur2 := []struct {
		key  string
		hash int32
	}{
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
	}
	tp := Partitioner().ForTopic("t")
	for _, c := range javaMurmur2 {
		for _, n := range []int{1, 3, 7, 12, 50} {
			want := int(c.hash&0x7fffffff) % n
			if got := tp.Partition(&kgo.Record{Key: []byte(c.key)}, n); got != want {
				t.Errorf("key %q, %d partitions: got %d, the Java client picks %d", c.key, n, got, want)
			}
		}
	}
}

// A keyless record goes to the partition set on it (heartbeats address every
// partials partition that way), or to 0 when that is out of range.
func TestPartitionerKeyless(t *testing.T) {
	tp := Partitioner().ForTopic("driftline.partials")
	for _, c := range []struct {
		set  int32
		n    int
		want int
	}{
		{0, 1, 0},
		{0, 4, 0},
		{1, 4, 1},
		{3, 4, 3},
		{4, 4, 0},
		{99, 4, 0},
		{-1, 4, 0},
		{-7, 1, 0},
		{5, 6, 5},
	} {
		r := &kgo.Record{Partition: c.set}
		if got := tp.Partition(r, c.n); got != c.want {
			t.Errorf("keyless record with Partition %d over %d partitions: got %d, want %d", c.set, c.n, got, c.want)
		}
	}
}

// Through a real producer and broker: keyed records land on the default
// partitioner's choice, keyless ones on the partition set on them.
func TestPartitionerProduced(t *testing.T) {
	brokers := startKafka(t)
	ctx := testContext(t, 20*time.Second)
	cl := newClient(t, brokers)
	adm := kadm.NewClient(cl)
	keys := testKeys()[:200]
	for _, n := range []int32{1, 3, 8} {
		t.Run(fmt.Sprintf("%d partitions", n), func(t *testing.T) {
			topic := fmt.Sprintf("partitioned-%d", n)
			if _, err := adm.CreateTopic(ctx, n, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			ref := kgo.StickyKeyPartitioner(nil).ForTopic(topic)
			want := map[*kgo.Record]int32{}
			var rs []*kgo.Record
			for _, k := range keys {
				r := &kgo.Record{Topic: topic, Key: k, Value: []byte("v")}
				want[r] = int32(ref.Partition(&kgo.Record{Key: k}, int(n)))
				rs = append(rs, r)
			}
			for p := int32(0); p < n; p++ {
				r := &kgo.Record{Topic: topic, Partition: p, Value: []byte("keyless")}
				want[r] = p
				rs = append(rs, r)
			}
			results := cl.ProduceSync(ctx, rs...)
			if err := results.FirstErr(); err != nil {
				t.Fatal(err)
			}
			if len(results) != len(rs) {
				t.Fatalf("%d results for %d records", len(results), len(rs))
			}
			// Results come in completion order; each carries its record.
			for _, res := range results {
				w, ok := want[res.Record]
				if !ok {
					t.Fatalf("a result for a record never produced: %+v", res.Record)
				}
				if res.Record.Partition != w {
					t.Fatalf("record with key %q landed on partition %d, want %d", res.Record.Key, res.Record.Partition, w)
				}
			}
		})
	}
}
