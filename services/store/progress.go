package store

import (
	"context"
	"fmt"
)

// Progress knows, per partition of one Kafka topic, the offset after the
// last record whose row a table holds. Consumers that insert rows as they
// read them but commit their offsets later (behind an open window) read
// rows again after a restart or a rebalance, in other batches than before,
// so insert_deduplication_token alone cannot absorb them; Progress lets
// them skip those rows. It relies on one writer per partition (a consumer
// group) and on each partition's rows being inserted in offset order, so
// the rows a table holds for a partition are a prefix of it. The table
// needs source_topic, source_partition and source_offset columns.
//
// It is not safe for concurrent use.
type Progress struct {
	Table, Topic string

	next map[int32]int64 // partition → offset after the last row held; absent: not loaded
}

// Inserted reports whether the row of the record at offset of partition is
// already in the table, loading the partition's progress from the table
// the first time it is asked.
func (p *Progress) Inserted(ctx context.Context, st Store, partition int32, offset int64) (bool, error) {
	next, ok := p.next[partition]
	if !ok {
		var err error
		if next, err = p.load(ctx, st, partition); err != nil {
			return false, err
		}
	}
	return offset < next, nil
}

func (p *Progress) load(ctx context.Context, st Store, partition int32) (int64, error) {
	// max of no rows is 0, not NULL, in ClickHouse: count tells them apart.
	res, err := st.Query(ctx, fmt.Sprintf(
		"SELECT count(), max(source_offset) FROM %s WHERE source_topic = %s AND source_partition = %d",
		p.Table, Quote(p.Topic), partition))
	if err != nil {
		return 0, fmt.Errorf("progress of %s[%d] in %s: %w", p.Topic, partition, p.Table, err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 2 {
		return 0, fmt.Errorf("progress of %s[%d] in %s: want one row of 2 columns", p.Topic, partition, p.Table)
	}
	var next int64
	n, err := Int(res.Rows[0][0])
	if err == nil && n > 0 {
		next, err = Int(res.Rows[0][1])
		next++
	}
	if err != nil {
		return 0, fmt.Errorf("progress of %s[%d] in %s: %w", p.Topic, partition, p.Table, err)
	}
	p.set(partition, next)
	return next, nil
}

func (p *Progress) set(partition int32, next int64) {
	if p.next == nil {
		p.next = make(map[int32]int64)
	}
	p.next[partition] = next
}

// Done records that the table now holds the row of the record at offset.
func (p *Progress) Done(partition int32, offset int64) {
	if next, ok := p.next[partition]; ok && offset < next {
		return
	}
	p.set(partition, offset+1)
}

// Forget drops what is known of partitions: another instance may write
// them now, so their progress is read from the table again when they come
// back.
func (p *Progress) Forget(partitions ...int32) {
	for _, part := range partitions {
		delete(p.next, part)
	}
}
