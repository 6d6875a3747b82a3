package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
)

// Position is where a row came from in Kafka.
type Position struct {
	Topic     string
	Partition int32
	Offset    int64
}

func (p Position) String() string {
	return p.Topic + "/" + strconv.FormatInt(int64(p.Partition), 10) + "/" + strconv.FormatInt(p.Offset, 10)
}

// Progress knows, per topic partition, the offset after the last record
// whose row a table holds. Consumers that insert rows as they read them but
// commit their offsets later (behind an open window, or at the end of a
// transaction that may abort) read rows again after a restart or a
// rebalance, in other batches than before, so insert_deduplication_token
// alone cannot absorb them; Progress lets them skip those rows. It relies
// on one writer per partition (a consumer group) and on each partition's
// rows being inserted in offset order, so the rows a table holds for a
// partition are a prefix of it. The table needs source_topic,
// source_partition and source_offset columns.
//
// It is not safe for concurrent use.
type Progress struct {
	Table string

	next map[string]map[int32]int64 // topic → partition → offset after the last row held; absent: not loaded
}

// Insert writes the rows the table does not hold yet (rows[i] came from
// at[i]) in one insert, and records that it holds them all. Its token is
// prefix and a digest of their positions: a retry of the same batch, in any
// order, sends the same token and is absorbed.
func (p *Progress) Insert(ctx context.Context, st Store, prefix string, rows []Row, at []Position) error {
	var fresh []Row
	var freshAt []Position
	for i, row := range rows {
		held, err := p.Inserted(ctx, st, at[i])
		if err != nil {
			return err
		}
		if !held {
			fresh, freshAt = append(fresh, row), append(freshAt, at[i])
		}
	}
	if len(fresh) > 0 {
		if err := st.Insert(ctx, p.Table, PositionsToken(prefix, freshAt), fresh); err != nil {
			return fmt.Errorf("insert %d rows into %s: %w", len(fresh), p.Table, err)
		}
	}
	for _, pos := range at {
		p.Done(pos)
	}
	return nil
}

// PositionsToken is an insert_deduplication_token for rows from at: prefix
// and a digest of the sorted positions, so the same records in any order
// give the same token, and its length stays fixed however many rows one
// batch brings (ClickHouse refuses queries past max_query_size, 256 KiB by
// default).
func PositionsToken(prefix string, at []Position) string {
	keys := make([]string, len(at))
	for i, pos := range at {
		keys[i] = pos.String()
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{'\n'})
	}
	return prefix + "-" + hex.EncodeToString(h.Sum(nil))
}

// Inserted reports whether the row of the record at pos is already in the
// table, loading its partition's progress from the table the first time it
// is asked.
func (p *Progress) Inserted(ctx context.Context, st Store, pos Position) (bool, error) {
	next, ok := p.next[pos.Topic][pos.Partition]
	if !ok {
		var err error
		if next, err = p.load(ctx, st, pos.Topic, pos.Partition); err != nil {
			return false, err
		}
	}
	return pos.Offset < next, nil
}

func (p *Progress) load(ctx context.Context, st Store, topic string, partition int32) (int64, error) {
	// max of no rows is 0, not NULL, in ClickHouse: count tells them apart.
	res, err := st.Query(ctx, fmt.Sprintf(
		"SELECT count(), max(source_offset) FROM %s WHERE source_topic = %s AND source_partition = %d",
		p.Table, Quote(topic), partition))
	if err != nil {
		return 0, fmt.Errorf("progress of %s[%d] in %s: %w", topic, partition, p.Table, err)
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 2 {
		return 0, fmt.Errorf("progress of %s[%d] in %s: want one row of 2 columns", topic, partition, p.Table)
	}
	var next int64
	n, err := Int(res.Rows[0][0])
	if err == nil && n > 0 {
		next, err = Int(res.Rows[0][1])
		next++
	}
	if err != nil {
		return 0, fmt.Errorf("progress of %s[%d] in %s: %w", topic, partition, p.Table, err)
	}
	p.set(topic, partition, next)
	return next, nil
}

func (p *Progress) set(topic string, partition int32, next int64) {
	if p.next == nil {
		p.next = make(map[string]map[int32]int64)
	}
	if p.next[topic] == nil {
		p.next[topic] = make(map[int32]int64)
	}
	p.next[topic][partition] = next
}

// Done records that the table now holds the row of the record at pos.
func (p *Progress) Done(pos Position) {
	if next, ok := p.next[pos.Topic][pos.Partition]; ok && pos.Offset < next {
		return
	}
	p.set(pos.Topic, pos.Partition, pos.Offset+1)
}

// Forget drops what is known of a topic's partitions: another instance
// may write them now, so their progress is read from the table again when
// they come back.
func (p *Progress) Forget(topic string, partitions ...int32) {
	for _, part := range partitions {
		delete(p.next[topic], part)
	}
}
