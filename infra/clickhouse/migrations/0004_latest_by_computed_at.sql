-- A window computed again under the same revision can have other values:
-- the labeler's join, replayed after a level-2 restart, reads the labels
-- stored by then, and its insert token (which holds the values) lets it
-- land beside the first. Among rows of equal revision the newest
-- computed_at is the latest.
CREATE OR REPLACE VIEW metrics_latest AS
SELECT *
FROM metrics
ORDER BY revision DESC, computed_at DESC
LIMIT 1 BY model_id, family, metric, feature, segment, window_start, model_version, variant;
