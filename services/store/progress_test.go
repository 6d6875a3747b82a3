package store

import (
	"context"
	"slices"
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
	first := &Progress{Table: "labels"}
	next := &Progress{Table: "labels"}
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
			got, err := p.Inserted(ctx, st, Position{"labels", tt.partition, tt.offset})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Inserted(%d, %d) = %v, want %v", tt.partition, tt.offset, got, tt.want)
			}
		}
	}
	// Done moves the mark without asking the table; Forget asks again.
	first.Done(Position{"labels", 3, 5})
	if got, _ := first.Inserted(ctx, st, Position{"labels", 3, 5}); !got {
		t.Errorf("after Done(3, 5), offset 5 is not inserted")
	}
	first.Forget("labels", 3)
	if got, _ := first.Inserted(ctx, st, Position{"labels", 3, 5}); got {
		t.Errorf("after Forget(3), offset 5 still counts as inserted; the table has nothing of partition 3")
	}
	first.Done(Position{"labels", 0, 2}) // behind the mark: no change
	if got, _ := first.Inserted(ctx, st, Position{"labels", 0, 8}); !got {
		t.Errorf("Done behind the mark moved it back")
	}
	if got, _ := first.Inserted(ctx, st, Position{"other", 2, 100}); !got {
		t.Errorf("the other topic's partition 2 has its own progress: offset 100 is held")
	}
}

func TestPositionsToken(t *testing.T) {
	a := []Position{{"driftline.raw.app", 0, 5}, {"driftline.raw.app", 1, 2}, {"driftline.raw.labels", 0, 9}}
	for _, c := range []struct {
		name  string
		x, y  []Position
		equal bool
	}{
		{"same positions", a, slices.Clone(a), true},
		{"same positions in another order", a, []Position{a[2], a[0], a[1]}, true},
		{"one offset more", a, append(slices.Clone(a), Position{"driftline.raw.app", 0, 6}), false},
		{"one offset less", a, a[:2], false},
		{"another partition", a, []Position{{"driftline.raw.app", 2, 5}, a[1], a[2]}, false},
		{"another topic", a, []Position{{"driftline.raw.other", 0, 5}, a[1], a[2]}, false},
	} {
		tx, ty := PositionsToken("p", c.x), PositionsToken("p", c.y)
		if (tx == ty) != c.equal {
			t.Errorf("%s: tokens %q and %q, want equal = %v", c.name, tx, ty, c.equal)
		}
	}
	if a[0].Offset != 5 || a[2].Topic != "driftline.raw.labels" {
		t.Errorf("PositionsToken reordered its argument: %v", a)
	}
	many := make([]Position, 50000)
	for i := range many {
		many[i] = Position{"driftline.raw.app", int32(i % 12), int64(i)}
	}
	if tok := PositionsToken("p", many); len(tok) != len(PositionsToken("p", a)) || len(tok) > 100 {
		t.Errorf("token of 50,000 rows is %d bytes; it must stay short", len(tok))
	}
}
