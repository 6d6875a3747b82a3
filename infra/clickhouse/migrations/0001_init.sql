-- Driftline's tables. Metric tables are ReplacingMergeTree(revision): a late
-- event re-emits a window with a higher revision, and the views below give
-- analysts the latest revision without FINAL. Every MergeTree keeps a
-- deduplication window so that a retried insert carrying the same
-- insert_deduplication_token is absorbed, on non-replicated tables too.

CREATE TABLE IF NOT EXISTS metrics
(
    model_id        LowCardinality(String),
    model_version   LowCardinality(String),
    variant         LowCardinality(String),
    segment         String,
    window_start    DateTime64(3, 'UTC'),
    window_end      DateTime64(3, 'UTC'),
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
ORDER BY (model_id, family, metric, feature, segment, window_start, model_version, variant)
TTL toDateTime(window_start) + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE VIEW IF NOT EXISTS metrics_latest AS
SELECT *
FROM metrics
ORDER BY revision DESC
LIMIT 1 BY model_id, family, metric, feature, segment, window_start, model_version, variant;

CREATE TABLE IF NOT EXISTS predictions
(
    event_id         String,
    request_id       String,
    model_id         LowCardinality(String),
    model_version    LowCardinality(String),
    variant          LowCardinality(String),
    event_time       DateTime64(3, 'UTC'),
    prediction_class Nullable(String),
    prediction_score Nullable(Float64),
    prediction_value Nullable(Float64),
    latency_ms       Float64,
    cost_usd         Nullable(Float64),
    segments         Map(String, String),
    source           LowCardinality(String),
    INDEX request_id_bf request_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (model_id, variant, event_time)
TTL toDateTime(event_time) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS labels
(
    request_id  String,
    label_class Nullable(String),
    label_value Nullable(Float64),
    label_time  DateTime64(3, 'UTC'),
    source      LowCardinality(String),
    INDEX request_id_bf request_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(label_time)
ORDER BY (label_time)
TTL toDateTime(label_time) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS triggers
(
    trigger_id     String,
    model_id       LowCardinality(String),
    model_version  LowCardinality(String),
    policy         LowCardinality(String),
    action         LowCardinality(String),
    severity       LowCardinality(String),
    evidence       String,
    created_at     DateTime64(3, 'UTC'),
    cooldown_until DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (model_id, created_at, trigger_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS deadletters
(
    received_at      DateTime64(3, 'UTC'),
    source_topic     LowCardinality(String),
    source_partition Int32,
    source_offset    Int64,
    stage            LowCardinality(String),
    error_class      LowCardinality(String),
    error_message    String,
    original         String,
    headers          Map(String, String)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY (source_topic, received_at)
TTL toDateTime(received_at) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 10000;
