-- Longer views (an hour, a day, the last hour at every window) are merges
-- of finished windows, never a second pass over events. Level 2 keeps the
-- mergeable state of every window it finishes in window_states: the
-- WindowPartials it merged (the drift-aggregator's merged into one per
-- reference profile), each in Avro single-object encoding behind its length
-- as a uvarint. A view merges the states of its windows through the same
-- computation as a window and writes to metric_views, whose key holds
-- window_end as well, so views of different spans that start together stay
-- apart. A state's revision is its window's; a view's revision grows with
-- every window of it that is added or revised. The drift-aggregator copies
-- the reference profiles it reads from Kafka into reference_profiles, so a
-- view computed on demand (driftline view) finds what its windows were
-- measured against in ClickHouse too.

CREATE TABLE IF NOT EXISTS window_states
(
    model_id      LowCardinality(String),
    model_version LowCardinality(String),
    variant       LowCardinality(String),
    segment       String,
    family        LowCardinality(String),
    window_start  DateTime64(3, 'UTC'),
    window_end    DateTime64(3, 'UTC'),
    revision      UInt32,
    computed_at   DateTime64(3, 'UTC'),
    partials      String
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (model_id, family, model_version, variant, segment, window_start, window_end)
TTL toDateTime(window_start) + INTERVAL 35 DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS metric_views
(
    model_id        LowCardinality(String),
    model_version   LowCardinality(String),
    variant         LowCardinality(String),
    segment         String,
    window_start    DateTime64(3, 'UTC'),
    window_end      DateTime64(3, 'UTC'),
    windows         UInt32,
    family          LowCardinality(String),
    feature         LowCardinality(String),
    metric          LowCardinality(String),
    value           Float64,
    threshold       Nullable(Float64),
    p_value         Nullable(Float64),
    detected        Bool,
    sample_count    UInt64,
    reference_count UInt64,
    reference_id    String,
    computed_at     DateTime64(3, 'UTC'),
    revision        UInt32
)
ENGINE = ReplacingMergeTree(revision)
PARTITION BY toYYYYMM(window_start)
ORDER BY (model_id, family, metric, feature, segment, window_start, window_end, model_version, variant)
TTL toDateTime(window_start) + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE VIEW IF NOT EXISTS metric_views_latest AS
SELECT *
FROM metric_views
ORDER BY revision DESC, computed_at DESC
LIMIT 1 BY model_id, family, metric, feature, segment, window_start, window_end, model_version, variant;

CREATE TABLE IF NOT EXISTS reference_profiles
(
    reference_id  String,
    model_id      LowCardinality(String),
    model_version LowCardinality(String),
    created_at    DateTime64(3, 'UTC'),
    profile       String
)
ENGINE = ReplacingMergeTree
ORDER BY (model_id, reference_id)
SETTINGS non_replicated_deduplication_window = 10000;
