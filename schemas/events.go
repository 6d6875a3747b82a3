package schemas

import "time"

// Variants a model's predictions can come from. Shadow, canary and challenger
// predictions share the production prediction's request_id.
const (
	VariantProduction = "production"
	VariantShadow     = "shadow"
	VariantCanary     = "canary"
)

// InferenceEvent is the canonical record of one prediction, as the adapter
// produces it on driftline.inferences (key = RequestID).
type InferenceEvent struct {
	EventID      string
	RequestID    string
	ModelID      string
	ModelVersion string
	Variant      string
	EventTime    time.Time // Avro timestamp-millis
	// Features holds nil, float64, int64, string or bool values.
	Features     map[string]any
	Prediction   Prediction
	LatencyMS    float64
	Cost         *Cost
	Segments     map[string]string
	Attributions map[string]float64 // nil when the model sends none
	Source       string
	// SchemaVersion is the version of the producer's input mapping.
	SchemaVersion int32
}

// Prediction is what the model answered; any subset may be set.
type Prediction struct {
	Score         *float64           // binary classifiers: probability of the positive class
	Class         *string            // classifiers: predicted class
	Value         *float64           // regressors
	Probabilities map[string]float64 // multi-class: probability per class
}

// Cost is the price of one inference, for LLM-style models.
type Cost struct {
	InputTokens  int64
	OutputTokens int64
	CostUSD      float64
}

// LabelEvent is ground truth for a request, arriving later than its prediction,
// on driftline.labels (key = RequestID).
type LabelEvent struct {
	RequestID string
	Class     *string  // classification label
	Value     *float64 // regression target
	LabelTime time.Time
	Source    string
}

// Feature kinds in profiles and sketches.
const (
	KindNumeric     = "numeric"
	KindCategorical = "categorical"
)

// ReferenceProfile is the distribution a model was trained on, built once from
// a dataset and published on the compacted driftline.references topic
// (key = ModelID + "/" + ModelVersion).
type ReferenceProfile struct {
	ReferenceID  string
	ModelID      string
	ModelVersion string
	Features     []FeatureProfile
	RowCount     int64
	CreatedAt    time.Time
}

// FeatureProfile is one feature's reference distribution.
type FeatureProfile struct {
	Name string
	Kind string // KindNumeric or KindCategorical
	// BinEdges are the ascending inner edges of the PSI bins; bin i holds
	// values in [BinEdges[i-1], BinEdges[i]) with open outer bins, so there are
	// len(BinEdges)+1 counts.
	BinEdges  []float64
	BinCounts []int64
	// QuantileEdges are finer inner edges (percentiles) used for the KS and
	// Wasserstein statistics, with len(QuantileEdges)+1 counts.
	QuantileEdges  []float64
	QuantileCounts []int64
	// Categories counts each category (categorical features).
	Categories  map[string]int64
	Count       int64 // non-missing values
	Missing     int64
	Min         float64
	Max         float64
	Mean        float64
	Std         float64
	UniqueCount int64
}

// WindowPartial is one source partition's mergeable state for one window
// (level 1 of the windowing engine). A partial with an empty ModelID is a
// watermark heartbeat: it only reports the partition's progress.
type WindowPartial struct {
	// Family says which service's level 2 merges it (drift, performance,
	// shadow); the same engine serves them all.
	Family          string
	ModelID         string
	ModelVersion    string
	Variant         string
	Segment         string
	WindowStart     time.Time
	WindowEnd       time.Time
	SourceTopic     string
	SourcePartition int32
	PartitionCount  int32
	Watermark       time.Time
	Revision        int32
	LateEvents      int64
	Count           int64
	ReferenceID     string
	Features        []FeatureSketch
	// Counters are summed by the merge (e.g. labeled, correct, agree).
	Counters map[string]float64
	// Idle marks a heartbeat of a partition with nothing left to read: it
	// handed over its open windows and must not hold other partitions back.
	Idle bool
	// FirstOffset and LastOffset are the source offsets of the oldest and
	// newest record in the partial, -1 when unknown (partials written before
	// the fields existed decode so). Level 2 keeps a source partition's
	// partials of one window side by side when their ranges are disjoint:
	// the later events of a window a restarted level 1 no longer holds.
	FirstOffset int64
	LastOffset  int64
}

// FeatureSketch is the mergeable state of one feature in one window.
type FeatureSketch struct {
	Name           string
	Kind           string
	Count          int64 // non-missing values
	Missing        int64
	TypeMismatches int64
	Sum            float64
	SumSquares     float64
	Min            float64
	Max            float64
	BinCounts      []int64 // in the reference's BinEdges
	QuantileCounts []int64 // in the reference's QuantileEdges
	Categories     map[string]int64
	Other          int64 // categories beyond the cap
	// QuantileSketch is the numeric values' quantile sketch in
	// sketches-go's DDSketch encoding (services/stats decodes and checks
	// it); nil for categorical features and from writers before it.
	QuantileSketch []byte
}

// Metric families.
const (
	FamilyDrift       = "drift"
	FamilyQuality     = "quality"
	FamilyPerformance = "performance"
	FamilyShadow      = "shadow"
	FamilyOps         = "ops"
)

// MetricWindow is one statistic for one window, as written to ClickHouse and
// driftline.metrics.
type MetricWindow struct {
	ModelID        string
	ModelVersion   string
	Variant        string
	Segment        string
	WindowStart    time.Time
	WindowEnd      time.Time
	Family         string
	Feature        string
	Metric         string
	Value          float64
	Threshold      *float64
	PValue         *float64
	Detected       bool // the statistic crossed its threshold
	SampleCount    int64
	ReferenceCount int64
	ReferenceID    string
	ComputedAt     time.Time
	Revision       int32
}

// Trigger actions.
const (
	ActionRetrain  = "retrain"
	ActionRollback = "rollback"
	ActionSafeMode = "safe_mode"
	ActionNotify   = "notify"
)

// Trigger asks a retraining job or a model server to act.
type Trigger struct {
	TriggerID     string
	ModelID       string
	ModelVersion  string
	Policy        string
	Action        string
	Severity      string
	Evidence      []MetricWindow
	CreatedAt     time.Time
	CooldownUntil time.Time
}

// DeadLetter keeps an input Driftline could not process, with the reason.
type DeadLetter struct {
	Original        []byte
	SourceTopic     string
	SourcePartition int32
	SourceOffset    int64
	Headers         map[string]string
	Stage           string
	ErrorClass      string
	ErrorMessage    string
	ReceivedAt      time.Time
}
