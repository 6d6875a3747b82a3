package ingest

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/driftline/driftline/services/stream"
	"github.com/twmb/franz-go/pkg/kgo"
)

// loadRecord is a raw inference as tools/loadgen writes it: 20 features
// (every fourth categorical, 1 % null), numbers with at most three decimals,
// times in epoch milliseconds, a prediction object and one segment.
func loadRecord(r *rand.Rand, i int) []byte {
	key := "r00-" + strconv.Itoa(i)
	b := []byte(`{"event_id":"` + key + `/production","request_id":"` + key +
		`","model_id":"model-000","model_version":"v1","variant":"production","timestamp":`)
	b = strconv.AppendInt(b, 1795000000000+int64(i)*3, 10)
	b = append(b, `,"features":{`...)
	for j := range 20 {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, `"f0`...)
		if j < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, int64(j), 10)
		b = append(b, `":`...)
		switch {
		case r.Float64() < 0.01:
			b = append(b, "null"...)
		case j%4 == 3:
			b = strconv.AppendQuote(b, "c"+strconv.Itoa(r.IntN(6)))
		default:
			v := math.Round((float64(j)+r.NormFloat64()*(1+float64(j)/10))*1000) / 1000
			b = strconv.AppendFloat(b, v, 'f', -1, 64)
		}
	}
	b = append(b, `},"prediction":{"class":"yes","score":`...)
	b = strconv.AppendFloat(b, float64(r.IntN(1000))/1000, 'f', -1, 64)
	b = append(b, `},"latency_ms":`...)
	b = strconv.AppendFloat(b, 2+float64(r.IntN(300))/10, 'f', -1, 64)
	b = append(b, `,"segments":{"region":"seg-`...)
	b = strconv.AppendInt(b, int64(r.IntN(3)), 10)
	b = append(b, `"}}`...)
	return b
}

// BenchmarkRecord is the adapter's cost per raw record without Kafka:
// normalise the JSON, encode the InferenceEvent in Avro, build the output
// record, count it.
func BenchmarkRecord(b *testing.B) {
	h := &Handler{Topics: topics}
	if err := h.Handle(context.Background(), kgo.Fetches{}); err != nil { // the defaults
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	recs := make([]*kgo.Record, 256)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topics.Raw("load"), Partition: int32(i % 3), Offset: int64(i), Value: loadRecord(r, i)}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := h.record(recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
		if len(h.out) >= 1024 {
			if len(h.dead) > 0 {
				b.Fatal("dead letters")
			}
			clear(h.out)
			h.out, h.next = h.out[:0], stream.Offsets{}
		}
	}
}
