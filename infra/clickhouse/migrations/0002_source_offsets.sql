-- Where each prediction and label row came from in Kafka. The
-- feedback-labeler inserts rows as it reads them but commits its offsets
-- only up to the oldest open window, so a restart or rebalance reads rows
-- again in other batches, whose insert_deduplication_token differs. The
-- offsets let the next owner of a partition skip what the table already
-- holds (store.Progress): each row is stored once. Rows written before this
-- migration have partition -1.
ALTER TABLE predictions
    ADD COLUMN IF NOT EXISTS source_topic LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS source_partition Int32 DEFAULT -1,
    ADD COLUMN IF NOT EXISTS source_offset Int64 DEFAULT -1;

ALTER TABLE labels
    ADD COLUMN IF NOT EXISTS source_topic LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS source_partition Int32 DEFAULT -1,
    ADD COLUMN IF NOT EXISTS source_offset Int64 DEFAULT -1;
