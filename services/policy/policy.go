package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/driftline/driftline/schemas"
)

// Operators a threshold policy compares MetricWindow.Value with.
const (
	OpGE = ">="
	OpGT = ">"
	OpLE = "<="
	OpLT = "<"
)

// WhenDetected makes a policy use the window's own verdict, MetricWindow.Detected.
const WhenDetected = "detected"

// Severities a policy may give its triggers.
var Severities = []string{"info", "low", "medium", "high", "critical"}

// Defaults for keys a policy leaves out.
const (
	DefaultVariant  = schemas.VariantProduction
	DefaultCooldown = 24 * time.Hour
	DefaultAction   = schemas.ActionRetrain
	DefaultSeverity = "high"
)

// MaxWindows bounds of (M), so a policy cannot make every series keep an
// unbounded ring.
const MaxWindows = 1000

// maxFileSize bounds what Load reads; policy files are a few kilobytes.
const maxFileSize = 1 << 20

var (
	actions  = []string{schemas.ActionRetrain, schemas.ActionRollback, schemas.ActionSafeMode, schemas.ActionNotify}
	families = []string{schemas.FamilyDrift, schemas.FamilyQuality, schemas.FamilyPerformance, schemas.FamilyShadow, schemas.FamilyOps}
	ops      = []string{OpGE, OpGT, OpLE, OpLT}
)

// Policy is one validated rule, with defaults filled in.
type Policy struct {
	Name     string
	Models   []string // model_id globs
	Family   string   // "" matches every family
	Metric   string
	Features []string // feature globs; empty matches every feature
	Segments []string // segment globs; empty matches only the whole population ("")
	Variant  string
	// Op is "" when the policy uses MetricWindow.Detected, else one of the
	// Op constants, applied as Value Op Threshold.
	Op         string
	Threshold  float64
	Windows    int // N
	Of         int // M
	Hysteresis float64
	Cooldown   time.Duration
	Action     string
	Severity   string
}

// Set is a validated list of policies.
type Set struct {
	// Source names where the set came from (the file name given to Load).
	Source   string
	Policies []Policy
}

// Default returns the set used when no policy file is configured: retrain a
// production model, at most once a day, when any of its features drifts by
// its default test (the drift-aggregator's drift_score: Evidently's choice of
// test by kind, cardinality and reference size), so categorical features
// count too.
func Default() *Set {
	return &Set{
		Source: "default",
		Policies: []Policy{{
			Name:     "default-drift",
			Models:   []string{"*"},
			Family:   schemas.FamilyDrift,
			Metric:   "drift_score",
			Variant:  DefaultVariant,
			Windows:  1,
			Of:       1,
			Cooldown: DefaultCooldown,
			Action:   DefaultAction,
			Severity: DefaultSeverity,
		}},
	}
}

// Error is a policy file error. Its message names the file and line, the
// policy (index in the list, and name once known) and the key at fault.
type Error struct {
	File   string
	Line   int    // 0 when unknown
	Index  int    // position in the policies list, -1 for file-level errors
	Policy string // the policy's name, if it has one
	Key    string // "" when the error is not about one key
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Index >= 0 {
		fmt.Fprintf(&b, ": policies[%d]", e.Index)
		if e.Policy != "" {
			fmt.Fprintf(&b, " (%s)", e.Policy)
		}
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// LoadFile reads and validates the policy file at name.
func LoadFile(name string) (*Set, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	return Load(f, name)
}

// Load reads and validates a policy file; name is used in errors and as the
// set's Source.
func Load(r io.Reader, name string) (*Set, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("policy: reading %s: %w", name, err)
	}
	if len(data) > maxFileSize {
		return nil, &Error{File: name, Index: -1, Msg: fmt.Sprintf("larger than %d bytes", maxFileSize)}
	}
	root, err := parseYAML(data)
	if err != nil {
		return nil, yamlError(name, err)
	}
	if root == nil || root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, &Error{File: name, Index: -1, Msg: "no policies"}
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: root.Line, Index: -1, Msg: "want a mapping with the key policies"}
	}
	if err := checkDuplicates(root); err != nil {
		err.File, err.Index = name, -1
		return nil, err
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "policies" {
			return nil, &Error{File: name, Line: k.Line, Index: -1, Key: k.Value, Msg: "unknown key"}
		}
		list = deref(v)
	}
	if list == nil || list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		return nil, &Error{File: name, Index: -1, Key: "policies", Msg: "no policies"}
	}
	if list.Kind != yaml.SequenceNode {
		return nil, &Error{File: name, Line: list.Line, Index: -1, Key: "policies", Msg: "want a list of policies"}
	}
	if len(list.Content) == 0 {
		return nil, &Error{File: name, Line: list.Line, Index: -1, Key: "policies", Msg: "no policies"}
	}
	set := &Set{Source: name}
	seen := map[string]int{}
	for i, n := range list.Content {
		n = deref(n)
		p, err := parsePolicy(name, i, n)
		if err != nil {
			return nil, err
		}
		if j, dup := seen[p.Name]; dup {
			return nil, &Error{File: name, Line: n.Line, Index: i, Policy: p.Name, Key: "name",
				Msg: fmt.Sprintf("duplicate of policies[%d]", j)}
		}
		seen[p.Name] = i
		set.Policies = append(set.Policies, p)
	}
	return set, nil
}

// parseYAML returns the single document's root node, nil for an empty file.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	// yaml.v3 has panicked on malformed input before; a policy file must
	// never take the service down, so a panic becomes a parse error.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return nil, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a YAML syntax error into an *Error with the file and line.
func yamlError(file string, err error) *Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Index: -1, Msg: m[2]}
	}
	return &Error{File: file, Index: -1, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// checkDuplicates rejects a mapping that sets a key twice: yaml.v3 only
// checks that when decoding into maps and structs, not into nodes, and a
// policy whose second "threshold" silently wins is a policy misread.
func checkDuplicates(n *yaml.Node) *Error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if first, dup := seen[k.Value]; dup {
			return &Error{Line: k.Line, Key: k.Value, Msg: fmt.Sprintf("already set on line %d", first)}
		}
		seen[k.Value] = k.Line
	}
	return nil
}

// raw holds one policy as written, before defaults and validation; pointers
// tell a key left out from a zero value.
type raw struct {
	name, family, metric, variant, when, op, action, severity string
	models, features, segments                                []string
	threshold, hysteresis                                     *float64
	windows, of                                               *int
	cooldown                                                  *time.Duration
	line                                                      map[string]int
}

type keyParser func(r *raw, v *yaml.Node) error

var keys = map[string]keyParser{
	"name":       func(r *raw, v *yaml.Node) (err error) { r.name, err = str(v); return },
	"models":     func(r *raw, v *yaml.Node) (err error) { r.models, err = strs(v); return },
	"family":     func(r *raw, v *yaml.Node) (err error) { r.family, err = str(v); return },
	"metric":     func(r *raw, v *yaml.Node) (err error) { r.metric, err = str(v); return },
	"features":   func(r *raw, v *yaml.Node) (err error) { r.features, err = strs(v); return },
	"segments":   func(r *raw, v *yaml.Node) (err error) { r.segments, err = strs(v); return },
	"variant":    func(r *raw, v *yaml.Node) (err error) { r.variant, err = str(v); return },
	"when":       func(r *raw, v *yaml.Node) (err error) { r.when, err = str(v); return },
	"op":         func(r *raw, v *yaml.Node) (err error) { r.op, err = str(v); return },
	"threshold":  func(r *raw, v *yaml.Node) (err error) { r.threshold, err = num(v); return },
	"windows":    func(r *raw, v *yaml.Node) (err error) { r.windows, err = integer(v); return },
	"of":         func(r *raw, v *yaml.Node) (err error) { r.of, err = integer(v); return },
	"hysteresis": func(r *raw, v *yaml.Node) (err error) { r.hysteresis, err = num(v); return },
	"cooldown":   func(r *raw, v *yaml.Node) (err error) { r.cooldown, err = duration(v); return },
	"action":     func(r *raw, v *yaml.Node) (err error) { r.action, err = str(v); return },
	"severity":   func(r *raw, v *yaml.Node) (err error) { r.severity, err = str(v); return },
}

func parsePolicy(file string, index int, n *yaml.Node) (Policy, error) {
	fail := func(line int, name, key, msg string) error {
		return &Error{File: file, Line: line, Index: index, Policy: name, Key: key, Msg: msg}
	}
	if n.Kind != yaml.MappingNode {
		return Policy{}, fail(n.Line, "", "", "want a mapping")
	}
	// The name comes first so that every other error can quote it.
	if err := checkDuplicates(n); err != nil {
		err.File, err.Index = file, index
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := n.Content[i], n.Content[i+1]; k.Value == "name" && v.Kind == yaml.ScalarNode {
				err.Policy = v.Value
				break
			}
		}
		return Policy{}, err
	}
	var r raw
	r.line = map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], deref(n.Content[i+1]); k.Value == "name" && v.Kind == yaml.ScalarNode {
			r.name = v.Value
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		parse, ok := keys[k.Value]
		if !ok {
			return Policy{}, fail(k.Line, r.name, k.Value, "unknown key")
		}
		r.line[k.Value] = k.Line
		if err := parse(&r, deref(v)); err != nil {
			return Policy{}, fail(k.Line, r.name, k.Value, err.Error())
		}
	}
	line := func(key string) int {
		if l, ok := r.line[key]; ok {
			return l
		}
		return n.Line
	}

	p := Policy{
		Name: r.name, Models: r.models, Family: r.family, Metric: r.metric,
		Features: r.features, Segments: r.segments, Variant: r.variant,
		Windows: 1, Cooldown: DefaultCooldown, Action: r.action, Severity: r.severity,
	}
	if p.Name == "" {
		return Policy{}, fail(line("name"), "", "name", "required")
	}
	if len(p.Models) == 0 {
		p.Models = []string{"*"}
	}
	for _, g := range p.Models {
		if g == "" {
			return Policy{}, fail(line("models"), p.Name, "models", "empty glob")
		}
		if _, err := path.Match(g, ""); err != nil {
			return Policy{}, fail(line("models"), p.Name, "models", fmt.Sprintf("bad glob %q", g))
		}
	}
	for _, kg := range []struct {
		key   string
		globs []string
	}{{"features", p.Features}, {"segments", p.Segments}} {
		for _, g := range kg.globs {
			if _, err := path.Match(g, ""); err != nil {
				return Policy{}, fail(line(kg.key), p.Name, kg.key, fmt.Sprintf("bad glob %q", g))
			}
		}
	}
	if p.Family != "" && !slices.Contains(families, p.Family) {
		return Policy{}, fail(line("family"), p.Name, "family",
			fmt.Sprintf("unknown family %q (want one of %s)", p.Family, strings.Join(families, ", ")))
	}
	if p.Metric == "" {
		return Policy{}, fail(line("metric"), p.Name, "metric", "required")
	}
	if p.Variant == "" {
		p.Variant = DefaultVariant
	}

	// when: detected | an operator; op: an operator; threshold with an operator.
	op := r.op
	switch {
	case r.when == "" || r.when == WhenDetected:
	case slices.Contains(ops, r.when):
		if r.op != "" {
			return Policy{}, fail(line("op"), p.Name, "op", "set either when or op, not both")
		}
		op = r.when
	default:
		return Policy{}, fail(line("when"), p.Name, "when",
			fmt.Sprintf("unknown value %q (want detected or one of %s)", r.when, strings.Join(ops, " ")))
	}
	if op != "" && !slices.Contains(ops, op) {
		return Policy{}, fail(line("op"), p.Name, "op",
			fmt.Sprintf("unknown operator %q (want one of %s)", op, strings.Join(ops, " ")))
	}
	if op != "" && r.when == WhenDetected {
		return Policy{}, fail(line("op"), p.Name, "op", "set either when: detected or op, not both")
	}
	switch {
	case op != "" && r.threshold == nil:
		return Policy{}, fail(line("threshold"), p.Name, "threshold", fmt.Sprintf("required with op %q", op))
	case op == "" && r.threshold != nil:
		return Policy{}, fail(line("threshold"), p.Name, "threshold", "needs op (with when: detected the window's own threshold applies)")
	case r.threshold != nil:
		p.Op, p.Threshold = op, *r.threshold
	}

	if r.windows != nil {
		p.Windows = *r.windows
	}
	if p.Windows < 1 {
		return Policy{}, fail(line("windows"), p.Name, "windows", fmt.Sprintf("%d, must be at least 1", p.Windows))
	}
	p.Of = p.Windows
	if r.of != nil {
		p.Of = *r.of
	}
	if p.Of > MaxWindows {
		return Policy{}, fail(line("of"), p.Name, "of", fmt.Sprintf("%d, must be at most %d", p.Of, MaxWindows))
	}
	if p.Windows > p.Of {
		return Policy{}, fail(line("windows"), p.Name, "windows", fmt.Sprintf("%d is greater than of (%d)", p.Windows, p.Of))
	}

	if r.hysteresis != nil {
		p.Hysteresis = *r.hysteresis
	}
	if p.Hysteresis < 0 {
		return Policy{}, fail(line("hysteresis"), p.Name, "hysteresis", fmt.Sprintf("%g, must not be negative", p.Hysteresis))
	}
	if p.Hysteresis > 0 && p.Op == "" {
		return Policy{}, fail(line("hysteresis"), p.Name, "hysteresis", "needs op and threshold")
	}

	if r.cooldown != nil {
		p.Cooldown = *r.cooldown
	}
	if p.Cooldown < 0 {
		return Policy{}, fail(line("cooldown"), p.Name, "cooldown", fmt.Sprintf("%s, must not be negative", p.Cooldown))
	}

	if p.Action == "" {
		p.Action = DefaultAction
	}
	if !slices.Contains(actions, p.Action) {
		return Policy{}, fail(line("action"), p.Name, "action",
			fmt.Sprintf("unknown action %q (want one of %s)", p.Action, strings.Join(actions, ", ")))
	}
	if p.Severity == "" {
		p.Severity = DefaultSeverity
	}
	if !slices.Contains(Severities, p.Severity) {
		return Policy{}, fail(line("severity"), p.Name, "severity",
			fmt.Sprintf("unknown severity %q (want one of %s)", p.Severity, strings.Join(Severities, ", ")))
	}
	return p, nil
}

func isNull(v *yaml.Node) bool { return v.Kind == yaml.ScalarNode && v.Tag == "!!null" }

// deref follows YAML aliases (*name), so anchors can share values such as a
// list of models between policies.
func deref(v *yaml.Node) *yaml.Node {
	for i := 0; v.Kind == yaml.AliasNode && v.Alias != nil && i < 100; i++ {
		v = v.Alias
	}
	return v
}

func str(v *yaml.Node) (string, error) {
	if isNull(v) {
		return "", nil
	}
	if v.Kind != yaml.ScalarNode {
		return "", errors.New("want a string")
	}
	return v.Value, nil
}

// strs accepts a list of strings, or one string as a list of one.
func strs(v *yaml.Node) ([]string, error) {
	switch {
	case isNull(v):
		return nil, nil
	case v.Kind == yaml.ScalarNode:
		return []string{v.Value}, nil
	case v.Kind != yaml.SequenceNode:
		return nil, errors.New("want a list of strings")
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		e = deref(e)
		if e.Kind != yaml.ScalarNode || isNull(e) {
			return nil, errors.New("want a list of strings")
		}
		out = append(out, e.Value)
	}
	return out, nil
}

func num(v *yaml.Node) (*float64, error) {
	if isNull(v) {
		return nil, nil
	}
	var f float64
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" && v.ShortTag() != "!!float" || v.Decode(&f) != nil {
		return nil, fmt.Errorf("invalid value %q, want a number", v.Value)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("invalid value %q, want a finite number", v.Value)
	}
	return &f, nil
}

func integer(v *yaml.Node) (*int, error) {
	if isNull(v) {
		return nil, nil
	}
	var i int
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&i) != nil {
		return nil, fmt.Errorf("invalid value %q, want an integer", v.Value)
	}
	return &i, nil
}

func duration(v *yaml.Node) (*time.Duration, error) {
	if isNull(v) {
		return nil, nil
	}
	if v.Kind != yaml.ScalarNode {
		return nil, errors.New("want a duration such as 24h or 90m")
	}
	d, err := time.ParseDuration(v.Value)
	if err != nil {
		return nil, fmt.Errorf("invalid value %q, want a duration such as 24h or 90m", v.Value)
	}
	return &d, nil
}

// matches reports whether m is one of the windows p watches.
func (p *Policy) matches(m *schemas.MetricWindow) bool {
	if m.Metric != p.Metric || m.Variant != p.Variant || p.Family != "" && m.Family != p.Family {
		return false
	}
	if !anyMatch(p.Models, m.ModelID) {
		return false
	}
	if len(p.Features) > 0 && !anyMatch(p.Features, m.Feature) {
		return false
	}
	if len(p.Segments) == 0 {
		return m.Segment == ""
	}
	return anyMatch(p.Segments, m.Segment)
}

func anyMatch(globs []string, s string) bool {
	for _, g := range globs {
		// Globs were validated by Load; a malformed one set by hand matches nothing.
		if ok, _ := path.Match(g, s); ok {
			return true
		}
	}
	return false
}

// crossed reports whether m counts towards the policy's N of M.
func (p *Policy) crossed(m *schemas.MetricWindow) bool {
	switch p.Op {
	case OpGE:
		return m.Value >= p.Threshold
	case OpGT:
		return m.Value > p.Threshold
	case OpLE:
		return m.Value <= p.Threshold
	case OpLT:
		return m.Value < p.Threshold
	}
	return m.Detected
}

// recovered reports whether m is back past the hysteresis band, which re-arms
// a series that fired. Without hysteresis no re-arming is needed.
func (p *Policy) recovered(m *schemas.MetricWindow) bool {
	switch p.Op {
	case OpGE, OpGT:
		return m.Value < p.Threshold-p.Hysteresis
	case OpLE, OpLT:
		return m.Value > p.Threshold+p.Hysteresis
	}
	return !m.Detected
}
