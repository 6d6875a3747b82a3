package schemas

import "testing"

// The benchmarks use an InferenceEvent with 20 features of mixed types.

func BenchmarkMarshal(b *testing.B) {
	ev := benchInference()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	buf, err := Marshal(benchInference())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		var ev InferenceEvent
		if err := Unmarshal(buf, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalGoavroOnly is goavro's share of BenchmarkUnmarshal: the
// native decode without the guard or the resolution into the struct.
func BenchmarkUnmarshalGoavroOnly(b *testing.B) {
	buf, _ := Marshal(benchInference())
	codec := evInference.cur.codec
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := codec.NativeFromBinary(buf[soeHeaderLen:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalFeatures is BenchmarkUnmarshal's event decoded as
// drift level 1 decodes it: the features into a reused list.
func BenchmarkUnmarshalFeatures(b *testing.B) {
	buf, err := Marshal(benchInference())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var ev InferenceEvent
	var feats []Feature
	for b.Loop() {
		if feats, err = UnmarshalFeatures(buf, &ev, feats); err != nil {
			b.Fatal(err)
		}
	}
}
