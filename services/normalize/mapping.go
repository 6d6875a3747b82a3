package normalize

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/driftline/driftline/schemas"
	"gopkg.in/yaml.v3"
)

// MappingConfig says where each canonical field of a source's events comes
// from. A nil field takes the canonical default: the field of the same
// name at the top of the document (features, segments, prediction and cost
// as objects), which is the input format the README describes.
type MappingConfig struct {
	EventID      *Field            `yaml:"event_id"`
	RequestID    *Field            `yaml:"request_id"`
	ModelID      *Field            `yaml:"model_id"`
	ModelVersion *Field            `yaml:"model_version"`
	Variant      *Field            `yaml:"variant"`
	Timestamp    *Field            `yaml:"timestamp"`
	LatencyMS    *Field            `yaml:"latency_ms"`
	Features     *Group            `yaml:"features"`
	Segments     *Group            `yaml:"segments"`
	Attributions *Group            `yaml:"attributions"`
	Prediction   *PredictionConfig `yaml:"prediction"`
	Cost         *CostConfig       `yaml:"cost"`
	// Label is a label source's label (a class, or a number for a
	// regression target).
	Label *Field `yaml:"label"`
}

// Field is where one value comes from. In YAML a plain string is the path.
//
// A path names keys separated by dots (meta.request.id); a numeric step
// indexes an array (items.0.score), a name step on an array reads its first
// element (XML elements that repeat), and "." is the document itself. XML
// attributes are "@name" steps and an element's text with attributes is
// "#text".
type Field struct {
	Path string `yaml:"path"`
	// Type is auto, string, number or bool for values; auto, iso8601,
	// epoch_seconds, epoch_millis, epoch_micros or layout for times.
	Type   string `yaml:"type"`
	Layout string `yaml:"layout"` // Go reference layout, with type layout
	// Default is used when the path is missing or null.
	Default any `yaml:"default"`
	// Required rejects a document without the value (features, segments).
	Required bool `yaml:"required"`
}

// UnmarshalYAML accepts a plain path as well as the full mapping.
func (f *Field) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		f.Path = n.Value
		return nil
	}
	type plain Field
	return decodeStrict(n, (*plain)(f))
}

// Group maps a set of named values: features, segments, attributions,
// probabilities. From takes every member of one object (renamed and
// filtered); Fields adds or overrides single entries.
type Group struct {
	From     string            `yaml:"from"`
	Type     string            `yaml:"type"` // of From's members: auto, string, number, bool
	Rename   map[string]string `yaml:"rename"`
	Exclude  []string          `yaml:"exclude"`
	Fields   map[string]Field  `yaml:"fields"`
	Required bool              `yaml:"required"` // From must be present
}

// PredictionConfig maps the model's answer. From reads the canonical shape
// (an object with class, score, value and probabilities, or a bare string
// class or number value); the fields override it.
type PredictionConfig struct {
	From          string `yaml:"from"`
	Class         *Field `yaml:"class"`
	Score         *Field `yaml:"score"`
	Value         *Field `yaml:"value"`
	Probabilities *Group `yaml:"probabilities"`
}

// CostConfig maps an inference's cost; it is set when any value is found.
type CostConfig struct {
	InputTokens  *Field `yaml:"input_tokens"`
	OutputTokens *Field `yaml:"output_tokens"`
	CostUSD      *Field `yaml:"cost_usd"`
}

// DecodeSection decodes a format's section of a source's config into v,
// refusing unknown keys.
func DecodeSection(n *yaml.Node, v any) error { return decodeStrict(n, v) }

// decodeStrict decodes n into v refusing unknown keys, which yaml.v3's
// Node.Decode does not do by itself.
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		// Line numbers refer to the re-encoded node: point at the node.
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = lineRe.ReplaceAllString(msg, "")
		return fmt.Errorf("line %d: %s", n.Line, msg)
	}
	return nil
}

var lineRe = regexp.MustCompile(`line \d+: `)

// path is a compiled Field path; empty is the document itself.
type path []string

func compilePath(s string) (path, error) {
	s = strings.TrimSpace(s)
	if s == "." {
		return path{}, nil
	}
	if s == "" {
		return nil, errors.New("empty path")
	}
	p := strings.Split(s, ".")
	if slices.Contains(p, "") {
		return nil, fmt.Errorf("path %q has an empty step", s)
	}
	return p, nil
}

// lookup walks the path; ok is false when a step is missing.
func (p path) lookup(d Document) (any, bool) { return p.lookupIn(d) }

// lookupIn walks the path from any value.
func (p path) lookupIn(root any) (any, bool) {
	v := root
	for _, step := range p {
		switch x := v.(type) {
		case Document:
			var ok bool
			if v, ok = x[step]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(step)
			if err != nil {
				// A name step on a list reads its first element.
				if len(x) == 0 {
					return nil, false
				}
				d, ok := x[0].(Document)
				if !ok {
					return nil, false
				}
				if v, ok = d[step]; !ok {
					return nil, false
				}
				continue
			}
			if i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

type valueField struct {
	name     string // canonical name, for messages
	path     path
	typ      string
	layout   string
	def      any
	required bool
	isTime   bool
	slot     int // in the JSON plan
}

func (f *valueField) get(d values) any {
	if f == nil {
		return nil
	}
	v, ok := d.lookup(f)
	if !ok || v == nil {
		return f.def
	}
	return v
}

// values is what a mapping reads one document from: a Document, or the
// slots the direct JSON reader filled (see plan.go).
type values interface {
	// lookup returns the value at f's path.
	lookup(f *valueField) (any, bool)
	// members returns the members of g's From object, as a Document or
	// a list; present is false when it is missing or null, notObject is
	// set when it is not an object.
	members(g *group) (obj Document, list []member, present bool, notObject any)
	// prediction returns the value at the prediction's From path.
	prediction(m *mapping) any
}

// docValues reads a Document by path.
type docValues struct{ d Document }

func (dv docValues) lookup(f *valueField) (any, bool) { return f.path.lookup(dv.d) }

func (dv docValues) members(g *group) (Document, []member, bool, any) {
	raw, ok := g.from.lookup(dv.d)
	if !ok || raw == nil {
		return nil, nil, false, nil
	}
	obj, ok := raw.(Document)
	if !ok {
		return nil, nil, true, raw
	}
	return obj, nil, true, nil
}

func (dv docValues) prediction(m *mapping) any {
	v, _ := m.predFrom.lookup(dv.d)
	return v
}

type groupEntry struct {
	name string
	f    valueField
}

type group struct {
	name     string
	from     path // nil: no From
	typ      string
	rename   map[string]string
	exclude  map[string]bool
	fields   []groupEntry
	required bool
	slot     int // in the JSON plan
}

type mapping struct {
	kind                                                        string
	eventID, requestID, modelID, modelVersion, variant, latency *valueField
	timestamp, label                                            *valueField
	features, segments, attributions, probabilities             *group
	predFrom                                                    path
	predClass, predScore, predValue                             *valueField
	costIn, costOut, costUSD                                    *valueField
}

func defaultField(p string) *Field { return &Field{Path: p} }

// compileMapping checks c and builds the mapping for kind; errors name the
// canonical field and the problem.
func compileMapping(kind string, c MappingConfig) (*mapping, error) {
	m := &mapping{kind: kind}
	var errs []error
	field := func(name string, f *Field, def string, kinds []string, required bool) *valueField {
		if f == nil {
			if def == "" {
				return nil
			}
			f = defaultField(def)
		}
		vf, err := compileField(name, *f, kinds, required)
		if err != nil {
			errs = append(errs, err)
		}
		return vf
	}
	valueTypes := []string{TypeAuto, TypeString, TypeNumber, TypeBool}
	timeTypes := []string{TimeAuto, TimeISO8601, TimeEpochSeconds, TimeEpochMillis, TimeEpochMicros, TimeLayout}
	strOnly := []string{TypeAuto, TypeString}
	numOnly := []string{TypeAuto, TypeNumber}
	m.requestID = field("request_id", c.RequestID, "request_id", strOnly, true)
	m.timestamp = field("timestamp", c.Timestamp, "timestamp", timeTypes, true)
	if kind == KindLabel {
		m.label = field("label", c.Label, "label", valueTypes, true)
		for name, set := range map[string]bool{"model_id": c.ModelID != nil, "features": c.Features != nil, "prediction": c.Prediction != nil,
			"segments": c.Segments != nil, "event_id": c.EventID != nil, "variant": c.Variant != nil, "cost": c.Cost != nil} {
			if set {
				errs = append(errs, fmt.Errorf("field %q: not part of a label source's events", name))
			}
		}
		return m, errors.Join(errs...)
	}
	if c.Label != nil {
		errs = append(errs, errors.New(`field "label": only label sources (kind: label) have one`))
	}
	m.eventID = field("event_id", c.EventID, "event_id", strOnly, false)
	m.modelID = field("model_id", c.ModelID, "model_id", strOnly, true)
	m.modelVersion = field("model_version", c.ModelVersion, "model_version", strOnly, false)
	m.variant = field("variant", c.Variant, "variant", strOnly, false)
	m.latency = field("latency_ms", c.LatencyMS, "latency_ms", numOnly, false)
	grp := func(name string, g *Group, def *Group, typ string, types []string) *group {
		if g == nil {
			g = def
		}
		if g == nil {
			return nil
		}
		out, err := compileGroup(name, *g, typ, types)
		if err != nil {
			errs = append(errs, err)
		}
		return out
	}
	m.features = grp("features", c.Features, &Group{From: "features", Required: true}, TypeAuto, valueTypes)
	m.segments = grp("segments", c.Segments, &Group{From: "segments"}, TypeString, strOnly)
	m.attributions = grp("attributions", c.Attributions, &Group{From: "attributions"}, TypeNumber, numOnly)
	p := c.Prediction
	if p == nil {
		p = &PredictionConfig{From: "prediction"}
	}
	if p.From != "" {
		var err error
		if m.predFrom, err = compilePath(p.From); err != nil {
			errs = append(errs, fmt.Errorf("field \"prediction\": from: %w", err))
		}
	}
	m.predClass = field("prediction.class", p.Class, "", strOnly, false)
	m.predScore = field("prediction.score", p.Score, "", numOnly, false)
	m.predValue = field("prediction.value", p.Value, "", numOnly, false)
	m.probabilities = grp("prediction.probabilities", p.Probabilities, nil, TypeNumber, numOnly)
	if c.Cost != nil {
		m.costIn = field("cost.input_tokens", c.Cost.InputTokens, "", numOnly, false)
		m.costOut = field("cost.output_tokens", c.Cost.OutputTokens, "", numOnly, false)
		m.costUSD = field("cost.cost_usd", c.Cost.CostUSD, "", numOnly, false)
	} else {
		m.costIn = field("cost.input_tokens", nil, "cost.input_tokens", numOnly, false)
		m.costOut = field("cost.output_tokens", nil, "cost.output_tokens", numOnly, false)
		m.costUSD = field("cost.cost_usd", nil, "cost.cost_usd", numOnly, false)
	}
	return m, errors.Join(errs...)
}

func compileField(name string, f Field, types []string, required bool) (*valueField, error) {
	vf := &valueField{name: name, typ: f.Type, layout: f.Layout, required: required || f.Required,
		isTime: slices.Contains(types, TimeEpochMillis)}
	if vf.typ == "" {
		vf.typ = types[0]
	}
	if !slices.Contains(types, vf.typ) {
		return nil, fmt.Errorf("field %q: unknown type %q (want one of %s)", name, f.Type, strings.Join(types, ", "))
	}
	if (vf.typ == TimeLayout) != (f.Layout != "") {
		return nil, fmt.Errorf("field %q: type layout and a layout go together", name)
	}
	if f.Path == "" && f.Default == nil {
		return nil, fmt.Errorf("field %q: give a path or a default", name)
	}
	if f.Path != "" {
		p, err := compilePath(f.Path)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", name, err)
		}
		vf.path = p
	} else {
		vf.path = path{"\x00no path"} // never found: the default applies
	}
	if f.Default != nil {
		// Check the default once, so a bad one fails at start-up.
		if _, fl := vf.coerce(f.Default); fl != nil {
			return nil, fmt.Errorf("field %q: default %v: %v", name, f.Default, fl.Err)
		}
		vf.def = f.Default
	}
	return vf, nil
}

// coerce converts v by the field's type for a scalar or feature value.
func (f *valueField) coerce(v any) (any, *Failure) {
	if f.isTime {
		t, fl := toTime(f.name, f.typ, f.layout, v)
		return t, fl
	}
	return featureValue(f.name, f.typ, v)
}

func compileGroup(name string, g Group, typ string, types []string) (*group, error) {
	out := &group{name: name, typ: g.Type, required: g.Required, rename: g.Rename}
	if out.typ == "" {
		out.typ = typ
	}
	if !slices.Contains(types, out.typ) {
		return nil, fmt.Errorf("field %q: unknown type %q (want one of %s)", name, g.Type, strings.Join(types, ", "))
	}
	if g.From != "" {
		p, err := compilePath(g.From)
		if err != nil {
			return nil, fmt.Errorf("field %q: from: %w", name, err)
		}
		out.from = p
	} else if len(g.Rename) > 0 || len(g.Exclude) > 0 {
		return nil, fmt.Errorf("field %q: rename and exclude apply to from, which is not set", name)
	}
	if len(g.Exclude) > 0 {
		out.exclude = map[string]bool{}
		for _, e := range g.Exclude {
			out.exclude[e] = true
		}
	}
	names := make([]string, 0, len(g.Fields))
	for n := range g.Fields {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		vf, err := compileField(name+"."+n, g.Fields[n], fieldTypes(types, out.typ), false)
		if err != nil {
			return nil, err
		}
		out.fields = append(out.fields, groupEntry{name: n, f: *vf})
	}
	if out.from == nil && len(out.fields) == 0 {
		return nil, fmt.Errorf("field %q: give from or fields", name)
	}
	return out, nil
}

// fieldTypes lists the types a group's single field may take, the group's
// own type first (the default when the field gives none).
func fieldTypes(types []string, first string) []string {
	out := []string{first}
	for _, t := range types {
		if t != first {
			out = append(out, t)
		}
	}
	return out
}

// apply calls set for every member of From (renamed, less the excluded)
// and then every single field, with the type to convert it to.
func (g *group) apply(d values, set func(name, typ string, v any) *Failure) *Failure {
	if g.from != nil {
		obj, list, present, notObject := d.members(g)
		member := func(k string, v any) *Failure {
			if g.exclude[k] {
				return nil
			}
			name := k
			if r, ok := g.rename[k]; ok {
				name = r
			}
			return set(name, g.typ, v)
		}
		for k, v := range obj {
			if f := member(k, v); f != nil {
				return f
			}
		}
		for _, m := range list {
			if f := member(m.k, m.v); f != nil {
				return f
			}
		}
		switch {
		case !present && g.required:
			return fail(ClassMissingField, "field %q is required", g.name)
		case notObject != nil:
			return fail(ClassWrongType, "field %q: want an object, got %s", g.name, typeName(notObject))
		}
	}
	for i := range g.fields {
		e := &g.fields[i]
		v := e.f.get(d)
		if v == nil && e.f.required {
			return fail(ClassMissingField, "field %q is required", e.f.name)
		}
		if f := set(e.name, e.f.typ, v); f != nil {
			return f
		}
	}
	return nil
}

func (m *mapping) str(f *valueField, d values) (string, *Failure) {
	if f == nil {
		return "", nil
	}
	s, fl := toString(f.name, f.get(d))
	if fl == nil && s == "" && f.required {
		return "", fail(ClassMissingField, "field %q is required", f.name)
	}
	return s, fl
}

func (m *mapping) num(f *valueField, d values) (*float64, *Failure) {
	x, ok, fl := m.number(f, d)
	if !ok {
		return nil, fl
	}
	p := new(float64) // here, not x: a returned &x costs every call an allocation
	*p = x
	return p, nil
}

// number is num without the pointer (and its allocation); ok says the
// value is there.
func (m *mapping) number(f *valueField, d values) (x float64, ok bool, fl *Failure) {
	if f == nil {
		return 0, false, nil
	}
	v := f.get(d)
	if v == nil {
		if f.required {
			return 0, false, fail(ClassMissingField, "field %q is required", f.name)
		}
		return 0, false, nil
	}
	if x, fl = toNumber(f.name, v); fl != nil {
		return 0, false, fl
	}
	return x, true, nil
}

func (m *mapping) time(f *valueField, d values) (time.Time, *Failure) {
	v := f.get(d)
	if v == nil {
		return time.Time{}, fail(ClassMissingField, "field %q is required", f.name)
	}
	return toTime(f.name, f.typ, f.layout, v)
}

// event reads one document; an inference goes into sc's next event when sc
// is not nil.
func (m *mapping) event(source string, schemaVersion int32, d values, sc *Scratch) (Event, *Failure) {
	if m.kind == KindLabel {
		l, f := m.labelEvent(source, d)
		return Event{Label: l}, f
	}
	e, f := m.inference(source, schemaVersion, d, sc)
	return Event{Inference: e}, f
}

func (m *mapping) labelEvent(source string, d values) (*schemas.LabelEvent, *Failure) {
	l := &schemas.LabelEvent{Source: source}
	var f *Failure
	if l.RequestID, f = m.str(m.requestID, d); f != nil {
		return nil, f
	}
	if l.LabelTime, f = m.time(m.timestamp, d); f != nil {
		return nil, f
	}
	v := text(m.label.get(d))
	if v == nil {
		return nil, fail(ClassMissingField, "field %q is required", "label")
	}
	switch m.label.typ {
	case TypeNumber:
		x, f := toNumber("label", v)
		if f != nil {
			return nil, f
		}
		l.Value = &x
		return l, nil
	case TypeBool:
		b, f := toBool("label", v)
		if f != nil {
			return nil, f
		}
		s := strconv.FormatBool(b)
		l.Class = &s
		return l, nil
	}
	switch v.(type) {
	case Document, []any:
		return nil, fail(ClassWrongType, "field %q: want a string, number or boolean, got %s", "label", typeName(v))
	}
	s, f := toString("label", v)
	if f != nil {
		return nil, f
	}
	l.Class = &s
	if m.label.typ == TypeAuto {
		// A numeric label is a class ("1") and a regression target.
		if _, isStr := v.(string); !isStr {
			if x, f := toNumber("label", v); f == nil {
				l.Value = &x
			}
		}
	}
	return l, nil
}

func (m *mapping) inference(source string, schemaVersion int32, d values, sc *Scratch) (*schemas.InferenceEvent, *Failure) {
	var r *scratchEvent
	var e *schemas.InferenceEvent
	if sc != nil {
		r = sc.event()
		e = &r.ev
	} else {
		e = new(schemas.InferenceEvent)
	}
	e.Source, e.Variant, e.SchemaVersion = source, schemas.VariantProduction, schemaVersion
	var f *Failure
	if e.RequestID, f = m.str(m.requestID, d); f != nil {
		return nil, f
	}
	if e.ModelID, f = m.str(m.modelID, d); f != nil {
		return nil, f
	}
	if e.ModelVersion, f = m.str(m.modelVersion, d); f != nil {
		return nil, f
	}
	if v, f := m.str(m.variant, d); f != nil {
		return nil, f
	} else if v != "" {
		e.Variant = v
	}
	if e.EventID, f = m.str(m.eventID, d); f != nil {
		return nil, f
	}
	if e.EventID == "" {
		e.EventID = e.RequestID + "/" + e.Variant
	}
	if e.EventTime, f = m.time(m.timestamp, d); f != nil {
		return nil, f
	}
	if r != nil && r.features != nil {
		e.Features = r.features
	} else {
		hint := len(m.features.fields)
		if m.features.from != nil {
			obj, list, _, _ := d.members(m.features)
			hint += len(obj) + len(list)
		}
		e.Features = make(map[string]any, hint)
		if r != nil {
			r.features = e.Features
		}
	}
	if f := m.features.apply(d, func(name, typ string, v any) *Failure {
		x, f := quickFeature(typ, v)
		if f != nil {
			if x, f = featureValue("features."+name, typ, v); f != nil {
				return f
			}
		}
		e.Features[name] = x
		return nil
	}); f != nil {
		return nil, f
	}
	if m.segments != nil {
		if f := m.segments.apply(d, func(name, _ string, v any) *Failure {
			if v == nil {
				return nil
			}
			s, ok := v.(string)
			if !ok {
				var f *Failure
				if s, f = toString("segments."+name, v); f != nil {
					return f
				}
			}
			if e.Segments == nil {
				// Set on the first segment only: no segments is a nil map.
				if r != nil && r.segments != nil {
					e.Segments = r.segments
				} else {
					e.Segments = make(map[string]string, 4)
					if r != nil {
						r.segments = e.Segments
					}
				}
			}
			e.Segments[name] = s
			return nil
		}); f != nil {
			return nil, f
		}
	}
	if m.attributions != nil {
		if f := m.attributions.apply(d, func(name, _ string, v any) *Failure {
			if v == nil {
				return nil
			}
			x, f := toNumber("attributions."+name, v)
			if f != nil {
				return f
			}
			if e.Attributions == nil {
				e.Attributions = map[string]float64{}
			}
			e.Attributions[name] = x
			return nil
		}); f != nil {
			return nil, f
		}
	}
	if e.Prediction, f = m.prediction(d); f != nil {
		return nil, f
	}
	if x, ok, f := m.number(m.latency, d); f != nil {
		return nil, f
	} else if ok {
		e.LatencyMS = x
	}
	in, hasIn, f := m.number(m.costIn, d)
	if f != nil {
		return nil, f
	}
	out, hasOut, f := m.number(m.costOut, d)
	if f != nil {
		return nil, f
	}
	usd, hasUSD, f := m.number(m.costUSD, d)
	if f != nil {
		return nil, f
	}
	if hasIn || hasOut || hasUSD {
		e.Cost = &schemas.Cost{}
		if hasIn {
			e.Cost.InputTokens = int64(in)
		}
		if hasOut {
			e.Cost.OutputTokens = int64(out)
		}
		if hasUSD {
			e.Cost.CostUSD = usd
		}
	}
	return e, nil
}

func (m *mapping) prediction(d values) (schemas.Prediction, *Failure) {
	var p schemas.Prediction
	if m.predFrom != nil {
		v := d.prediction(m)
		switch x := text(v).(type) {
		case nil:
		case string:
			p.Class = &x
		case bool:
			s := strconv.FormatBool(x)
			p.Class = &s
		case Document:
			var po predObject
			po.class, po.hasClass = x["class"]
			po.score, po.hasScore = x["score"]
			po.value, po.hasValue = x["value"]
			po.probs, po.hasProbs = x["probabilities"]
			if f := po.read(&p); f != nil {
				return p, f
			}
		case *predObject:
			if f := x.read(&p); f != nil {
				return p, f
			}
		case []any:
			return p, fail(ClassWrongType, "field %q: want an object, string or number, got %s", "prediction", typeName(x))
		default:
			f, fl := toNumber("prediction", x)
			if fl != nil {
				return p, fl
			}
			p.Value = &f
		}
	}
	if m.predClass != nil {
		if v := m.predClass.get(d); v != nil {
			s, f := toString(m.predClass.name, v)
			if f != nil {
				return p, f
			}
			p.Class = &s
		}
	}
	var f *Failure
	if x, fl := m.num(m.predScore, d); fl != nil {
		return p, fl
	} else if x != nil {
		p.Score = x
	}
	if x, fl := m.num(m.predValue, d); fl != nil {
		return p, fl
	} else if x != nil {
		p.Value = x
	}
	if m.probabilities != nil {
		f = m.probabilities.apply(d, func(name, _ string, v any) *Failure {
			if v == nil {
				return nil
			}
			x, f := toNumber("prediction.probabilities."+name, v)
			if f != nil {
				return f
			}
			if p.Probabilities == nil {
				p.Probabilities = map[string]float64{}
			}
			p.Probabilities[name] = x
			return nil
		})
	}
	return p, f
}

// errSlow marks a value quickFeature leaves to featureValue.
var errSlow = &Failure{Class: "internal"}

// quickFeature converts the common feature values without allocating:
// finite float64s, strings and booleans that already have the wanted type
// are returned as they are (the same interface value).
func quickFeature(typ string, v any) (any, *Failure) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case float64:
		if (typ == TypeAuto || typ == TypeNumber) && !math.IsNaN(x) && !math.IsInf(x, 0) {
			return v, nil
		}
	case string:
		if typ == TypeAuto || typ == TypeString {
			return v, nil
		}
	case bool:
		if typ == TypeAuto || typ == TypeBool {
			return v, nil
		}
	}
	return nil, errSlow
}

// predObject is the canonical prediction object's members: from a
// Document, or streamed by the JSON plan without building one.
type predObject struct {
	class, score, value, probs             any
	hasClass, hasScore, hasValue, hasProbs bool
}

// predValues holds what a Prediction's pointers point to, so that one
// allocation serves the class, the score and the value.
type predValues struct {
	class        string
	score, value float64
}

func (po *predObject) read(p *schemas.Prediction) *Failure {
	var box *predValues
	values := func() *predValues {
		if box == nil {
			box = new(predValues)
		}
		return box
	}
	if po.hasClass && po.class != nil {
		switch po.class.(type) {
		case Document, []any:
			return fail(ClassWrongType, "field %q: want a string, got %s", "prediction.class", typeName(po.class))
		}
		s, f := toString("prediction.class", po.class)
		if f != nil {
			return f
		}
		b := values()
		b.class, p.Class = s, &b.class
	}
	if po.hasScore && po.score != nil {
		f, fl := toNumber("prediction.score", po.score)
		if fl != nil {
			return fl
		}
		b := values()
		b.score, p.Score = f, &b.score
	}
	if po.hasValue && po.value != nil {
		f, fl := toNumber("prediction.value", po.value)
		if fl != nil {
			return fl
		}
		b := values()
		b.value, p.Value = f, &b.value
	}
	if po.hasProbs && po.probs != nil {
		pm, ok := po.probs.(Document)
		if !ok {
			return fail(ClassWrongType, "field %q: want an object, got %s", "prediction.probabilities", typeName(po.probs))
		}
		p.Probabilities = make(map[string]float64, len(pm))
		for c, s := range pm {
			f, fl := toNumber("prediction.probabilities."+c, s)
			if fl != nil {
				return fl
			}
			p.Probabilities[c] = f
		}
	}
	return nil
}
