package perf

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// A state survives Encode and Decode unchanged, metrics included.
func TestEncodeRoundTrip(t *testing.T) {
	for seed := range uint64(12) {
		r := rand.New(rand.NewPCG(seed, 11))
		s := stateOf(t, randomRows(r, 500, []int{3, MaxClasses + 20}[seed%2]))
		enc, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(enc)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if err := sameState(t, s, d, 0); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		again, _ := d.Encode()
		if !bytes.Equal(enc, again) {
			t.Fatalf("seed %d: encodings differ", seed)
		}
		want, got := s.Metrics(""), d.Metrics("")
		if len(want) != len(got) {
			t.Fatalf("seed %d: %d metrics after decoding, want %d", seed, len(got), len(want))
		}
		for i := range want {
			if want[i] != got[i] {
				t.Fatalf("seed %d: %+v after decoding, want %+v", seed, got[i], want[i])
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"not JSON", "perf"},
		{"version", `{"v":2,"score_bins":1000,"calibration_bins":10}`},
		{"no bins", `{"v":1}`},
		{"too many bins", `{"v":1,"score_bins":100001,"calibration_bins":10}`},
		{"labeled beyond predictions", `{"v":1,"score_bins":10,"calibration_bins":10,"predictions":1,"labeled":2}`},
		{"unsorted classes", `{"v":1,"score_bins":10,"calibration_bins":10,"classes":["b","a"]}`},
		{"unknown class in a cell", `{"v":1,"score_bins":10,"calibration_bins":10,"predictions":1,"labeled":1,"classes":["a"],"confusion":[{"l":"a","p":"b","n":1}]}`},
		{"cells beyond labeled", `{"v":1,"score_bins":10,"calibration_bins":10,"predictions":1,"labeled":1,"classes":["a"],"confusion":[{"l":"a","p":"a","n":2}]}`},
		{"bin out of range", `{"v":1,"score_bins":10,"calibration_bins":2,"predictions":1,"labeled":1,"classes":["a"],"scores":[{"label":"a","n":1,"hist":[[11,1]],"cal_n":[1,0],"cal_sum":[0,0]}]}`},
		{"histogram count", `{"v":1,"score_bins":10,"calibration_bins":2,"predictions":1,"labeled":1,"classes":["a"],"scores":[{"label":"a","n":2,"hist":[[1,1]],"cal_n":[2,0],"cal_sum":[0,0]}]}`},
		{"negative sum", `{"v":1,"score_bins":10,"calibration_bins":2,"predictions":1,"labeled":1,"classes":["a"],"scores":[{"label":"a","n":1,"hist":[[1,1]],"cal_n":[1,0],"cal_sum":[-1,0]}]}`},
		{"calibration length", `{"v":1,"score_bins":10,"calibration_bins":2,"predictions":1,"labeled":1,"proba":{"rows":1,"width":2,"top_n":[1],"top_sum":[0.5],"top_correct":[1]}}`},
		{"regression rows", `{"v":1,"score_bins":10,"calibration_bins":2,"predictions":1,"labeled":1,"regression":{"n":5}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode([]byte(tt.in)); !errors.Is(err, errCorrupt) {
				t.Errorf("error %v, want a corrupt-state error", err)
			}
		})
	}
	if _, err := Decode([]byte(strings.Repeat(" ", MaxEncodedBytes+1))); !errors.Is(err, errCorrupt) {
		t.Errorf("oversized input: %v", err)
	}
}

// Decode never panics, and whatever it accepts encodes back to the same
// bytes and can be merged and measured.
func FuzzDecode(f *testing.F) {
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 3))
		s := stateOf(f, randomRows(r, 60, []int{2, 4, 8, 3}[seed]))
		enc, err := s.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add([]byte(`{"v":1,"score_bins":10,"calibration_bins":2,"predictions":3,"labeled":2,"classes":["a","b"],"confusion":[{"l":"a","p":"b","n":1}]}`))
	f.Add([]byte(`{"v":1,"score_bins":1,"calibration_bins":1,"predictions":9,"labeled":9,"regression":{"n":2,"sum_abs":1,"sum_sq":1,"sum_ape":1,"shift":3,"sum_d":-4,"sum_d2":1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			return
		}
		s.Metrics("")
		enc, err := s.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		d, err := Decode(enc)
		if err != nil {
			t.Fatalf("decode of own encoding: %v", err)
		}
		if again, _ := d.Encode(); !bytes.Equal(enc, again) {
			t.Fatalf("encodings differ:\n%s\n%s", enc, again)
		}
		if s.ScoreBins() == d.ScoreBins() {
			if err := s.Merge(d); err != nil {
				t.Fatal(err)
			}
			s.Metrics("")
		}
	})
}
