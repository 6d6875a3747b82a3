// Package policy decides when Driftline's retrain-trigger asks for a retrain,
// a rollback, safe mode or a notification. It is the pure part of that
// service: it reads a policy file and turns the stream of finished metric
// windows (driftline.metrics) into triggers, without touching Kafka or
// ClickHouse, so the decisions can be tested and replayed exactly.
//
// # Policy file
//
// A policy file is YAML with a single top-level key, policies:
//
//	policies:
//	  - name: feature-drift          # required, unique; names triggers and cooldowns
//	    models: ["*"]                # model_id globs (path.Match); default ["*"]
//	    family: drift                # drift, quality, performance, shadow, ops; default any
//	    metric: drift_score          # required: drift_score, psi, ks_statistic, accuracy, agreement_rate ...
//	    features: ["*"]              # feature globs; default (empty) any, dataset-level included
//	    segments: [""]               # segment globs; default only the whole population ("")
//	    variant: production          # default production
//	    when: detected               # default: the window's own verdict, MetricWindow.Detected
//	  - name: accuracy-floor
//	    family: performance
//	    metric: accuracy
//	    op: "<"                      # >=, >, <=, <: compare MetricWindow.Value ...
//	    threshold: 0.85              # ... with this threshold (instead of when: detected)
//	    windows: 3                   # N-of-M: fire when 3 ...
//	    of: 6                        # ... of the last 6 windows crossed; default of = windows = 1
//	    hysteresis: 0.02             # after firing, the metric must recover past
//	                                 # threshold ± hysteresis before the series may fire again
//	    cooldown: 24h                # Go duration, event time; default 24h
//	    action: rollback             # retrain, rollback, safe_mode, notify; default retrain
//	    severity: critical           # info, low, medium, high, critical; default high
//
// when also accepts an operator (when: ">=" is the same as op: ">="). Parsing
// is strict: unknown keys, a second YAML document, bad globs, unknown
// operators, actions, families or severities, windows greater than of,
// negative durations and missing required keys are errors of type *Error,
// which name the file, the line, the policy (index and name) and the key.
// [Default] is the set used when no file is configured.
//
// # Evaluation
//
// An [Evaluator] keeps one series per (policy, model, model version, variant,
// segment, family, feature; the feature is empty for dataset-level metrics).
// A series remembers whether each of its last M windows crossed: the windows
// are keyed by window_start, so a revision of a window replaces it (older
// revisions are ignored) and is never counted twice, and a window arriving out
// of order takes its place by time. "The last M windows" are the windows that
// start within M window lengths of the newest one, so windows that produced
// no metric count as not crossed. A series fires when at least N of them
// crossed; its firing window is the latest crossing window, so the outcome
// does not depend on the order in which the windows of the ring arrived.
//
// Cooldown is per (policy, model), across versions, features and segments: a
// firing window that ends before the previous trigger's cooldown_until, or
// that does not end after the previous trigger's firing window, triggers
// nothing. Triggers therefore move forward in event time for each (policy,
// model), and a replay of old windows never emits a second trigger for a
// firing already made.
//
// Hysteresis (> 0, threshold policies only) disarms each series that fired:
// it may fire again only after a window that starts after the firing window
// recovered past the threshold by the hysteresis (value < threshold −
// hysteresis for > and >=, value > threshold + hysteresis for < and <=), and
// only windows from that recovery on count towards N again.
//
// # One trigger per firing
//
// Observe sees metrics one at a time, but the metrics of one window (one per
// feature and segment) arrive together, and several of them may cross. The
// first series that fires for a (policy, model) opens a pending trigger for
// its firing window and starts the cooldown at once; every other series of the
// same (policy, model) that fires on the same window joins that pending
// trigger as evidence instead of being stopped by the cooldown. The pending
// trigger is emitted exactly once, when either
//
//   - Observe sees a metric of that policy and model for a later window (the
//     window's metrics are then complete), returned by that Observe call, or
//   - Flush is called; the service calls it after every fetched batch.
//
// Evidence of the same window that arrives after the trigger was emitted is
// dropped, never turned into a second trigger. Evidence is complete when a
// model's metrics for one window reach the evaluator in one batch, which holds
// when driftline.metrics is keyed by model_id.
//
// # Trigger fields
//
// TriggerID is a hash of the policy name, model, model version and the firing
// window's start (see [TriggerID]); ModelVersion is the version of the series
// that opened the firing. CreatedAt is the firing window's WindowEnd, not the
// wall clock, and CooldownUntil is CreatedAt + cooldown: a replay of the same
// metrics in the same order emits the same triggers, byte for byte, which the
// ReplacingMergeTree triggers table and downstream consumers deduplicate by
// trigger_id. Evidence holds the crossing windows (up to M per series) of every
// series that fired, sorted by window start, version, segment, feature.
//
// # Restarts
//
// Cooldowns and hysteresis survive a restart through [Evaluator.Seed], given
// the recent triggers read back from the ClickHouse triggers table. The N-of-M
// rings are not part of that state; to rebuild them, Seed first, then Observe
// the last M windows of metrics again: firings already made stay suppressed,
// and a firing that was decided but never published is emitted with its
// original TriggerID.
package policy
