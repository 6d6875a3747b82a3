package store

import (
	"context"
	"testing"
	"time"
)

// testProgress: a second Progress, as the next owner of a partition after
// a restart, finds what the first inserted, per topic and partition, and
// an empty partition starts at offset 0.
func testProgress(t *testing.T, open opener) {
	st, _ := open(t)
	mustMigrate(t, st)
	ctx := context.Background()
	row := func(topic string, partition int32, offset int64) Row {
		return Row{"request_id": "r", "label_time": time.Now(), "source_topic": topic, "source_partition": partition, "source_offset": offset}
	}
	if err := st.Insert(ctx, "labels", "p-1", []Row{row("labels", 0, 7), row("labels", 0, 8), row("labels", 1, 3), row("other", 2, 100)}); err != nil {
		t.Fatal(err)
	}
	first := &Progress{Table: "labels", Topic: "labels"}
	next := &Progress{Table: "labels", Topic: "labels"}
	for _, p := range []*Progress{first, next} {
		tests := []struct {
			partition int32
			offset    int64
			want      bool
		}{
			{0, 0, true}, {0, 8, true}, {0, 9, false},
			{1, 3, true}, {1, 4, false},
			{2, 0, false}, // another topic's partition 2 does not count
			{3, 0, false},
		}
		for _, tt := range tests {
			got, err := p.Inserted(ctx, st, tt.partition, tt.offset)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Inserted(%d, %d) = %v, want %v", tt.partition, tt.offset, got, tt.want)
			}
		}
	}
	// Done moves the mark without asking the table; Forget asks again.
	first.Done(3, 5)
	if got, _ := first.Inserted(ctx, st, 3, 5); !got {
		t.Errorf("after Done(3, 5), offset 5 is not inserted")
	}
	first.Forget(3)
	if got, _ := first.Inserted(ctx, st, 3, 5); got {
		t.Errorf("after Forget(3), offset 5 still counts as inserted; the table has nothing of partition 3")
	}
	first.Done(0, 2) // behind the mark: no change
	if got, _ := first.Inserted(ctx, st, 0, 8); !got {
		t.Errorf("Done behind the mark moved it back")
	}
}
