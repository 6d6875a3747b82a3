package normalize

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Format names in the mapping file.
const (
	FormatJSON      = "json"
	FormatJSONLines = "jsonl"
	FormatCSV       = "csv"
	FormatXML       = "xml"
	FormatAvro      = "avro"
	FormatProtobuf  = "protobuf"
)

// contentTypes maps a record's content-type header (without parameters) to
// the format that reads it.
var contentTypes = map[string]string{
	"application/json":                   FormatJSON,
	"application/x-ndjson":               FormatJSONLines,
	"application/jsonl":                  FormatJSONLines,
	"application/x-jsonlines":            FormatJSONLines,
	"text/csv":                           FormatCSV,
	"application/xml":                    FormatXML,
	"text/xml":                           FormatXML,
	"application/soap+xml":               FormatXML,
	"application/avro":                   FormatAvro,
	"application/vnd.apache.avro+binary": FormatAvro,
	"application/x-protobuf":             FormatProtobuf,
	"application/protobuf":               FormatProtobuf,
	"application/vnd.google.protobuf":    FormatProtobuf,
}

// FormatForContentType returns the format named by a content-type header
// value, or "" for a type Driftline does not know.
func FormatForContentType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(ct))
	}
	return contentTypes[mt]
}

// Defaults of Limits.
const (
	DefaultMaxRecordBytes = 1 << 20
	DefaultMaxDepth       = 64
	DefaultMaxDocuments   = 10000
	DefaultMaxColumns     = 1000
)

// Limits bound what one record may cost to read. Zero means the default.
type Limits struct {
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// MaxDepth bounds nesting (JSON objects and arrays, XML elements).
	MaxDepth int `yaml:"max_depth"`
	// MaxDocuments bounds the documents of one record (JSON arrays, JSON
	// Lines, CSV rows, XML record elements).
	MaxDocuments int `yaml:"max_documents"`
	// MaxColumns bounds CSV columns.
	MaxColumns int `yaml:"max_columns"`
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func (l Limits) recordBytes() int { return orDefault(l.MaxRecordBytes, DefaultMaxRecordBytes) }
func (l Limits) depth() int       { return orDefault(l.MaxDepth, DefaultMaxDepth) }
func (l Limits) documents() int   { return orDefault(l.MaxDocuments, DefaultMaxDocuments) }
func (l Limits) columns() int     { return orDefault(l.MaxColumns, DefaultMaxColumns) }

// SourceConfig is one source's entry in the mapping file.
type SourceConfig struct {
	Kind string `yaml:"kind"` // inference (default) or label
	// Format reads records without a known content-type header: json
	// (default), jsonl, csv, xml, avro or protobuf.
	Format        string        `yaml:"format"`
	SchemaVersion int32         `yaml:"schema_version"`
	Limits        Limits        `yaml:",inline"`
	Dedup         DedupConfig   `yaml:"dedup"`
	CSV           *CSVConfig    `yaml:"csv"`
	XML           *XMLConfig    `yaml:"xml"`
	Avro          yaml.Node     `yaml:"avro"`     // decoded by the avro package's Config
	Protobuf      yaml.Node     `yaml:"protobuf"` // decoded by the protobuf package's Config
	Mapping       MappingConfig `yaml:"mapping"`
}

// FileConfig is the mapping file: sources by name (the <source> of
// driftline.raw.<source>).
type FileConfig struct {
	Sources map[string]SourceConfig `yaml:"sources"`
}

// FormatFactory builds a format from its section of a source's config (a
// zero Node when the section is absent). Avro and Protobuf come this way,
// from packages that import this one.
type FormatFactory func(section *yaml.Node) (Format, error)

// Source normalises the records of one source. It is safe for concurrent
// use (Dedup is not: the adapter keeps one per source).
type Source struct {
	Name          string
	Kind          string
	SchemaVersion int32
	Limits        Limits
	Dedup         DedupConfig
	format        string
	formats       map[string]Format // the source's format, and any other it has the config for
	missing       map[string]error  // why a format is not available
	mapping       *mapping
	plan          *plan // the JSON formats' fast path
}

// Sources holds a mapping file's sources, and builds the canonical default
// for any other source name.
type Sources struct {
	mu       sync.Mutex // guards defaults
	byName   map[string]*Source
	labels   map[string]bool
	defaults map[string]*Source
	// inference and label are the canonical sources others are copied from.
	inference, label *Source
}

// SourcesOptions are the adapter-wide settings applied to sources the file
// does not name, and the limits' fallback for those it does.
type SourcesOptions struct {
	// LabelSources are sources whose records are labels when the file
	// does not say otherwise.
	LabelSources []string
	Limits       Limits
	// Formats builds the formats defined outside this package, by name
	// (avro, protobuf).
	Formats map[string]FormatFactory
}

// LoadFile reads and checks a mapping file; "" gives no file (every source
// takes the canonical default).
func LoadFile(path string, opts SourcesOptions) (*Sources, error) {
	if path == "" {
		return NewSources(FileConfig{}, opts)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping file: %w", err)
	}
	s, err := Load(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Load parses and checks a mapping file's contents.
func Load(data []byte, opts SourcesOptions) (srcs *Sources, err error) {
	// yaml.v3 panics on some malformed documents: an error, not a crash.
	defer func() {
		if r := recover(); r != nil {
			srcs, err = nil, fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	var fc FileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return NewSources(fc, opts)
}

// NewSources checks fc and compiles its sources; the errors name the
// source, the field and the problem.
func NewSources(fc FileConfig, opts SourcesOptions) (*Sources, error) {
	s := &Sources{byName: map[string]*Source{}, labels: map[string]bool{}, defaults: map[string]*Source{}}
	var err error
	if s.inference, err = NewSource("", SourceConfig{Kind: KindInference}, SourcesOptions{Limits: opts.Limits}); err != nil {
		return nil, err
	}
	if s.label, err = NewSource("", SourceConfig{Kind: KindLabel}, SourcesOptions{Limits: opts.Limits}); err != nil {
		return nil, err
	}
	for _, l := range opts.LabelSources {
		s.labels[l] = true
	}
	names := make([]string, 0, len(fc.Sources))
	for n := range fc.Sources {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		sc := fc.Sources[name]
		if sc.Kind == "" && s.labels[name] {
			sc.Kind = KindLabel
		}
		src, err := NewSource(name, sc, opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.byName[name] = src
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Names lists the sources the file configures.
func (s *Sources) Names() []string {
	out := make([]string, 0, len(s.byName))
	for n := range s.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the named source; one the file does not configure reads
// canonical JSON (a label source if listed in LabelSources).
func (s *Sources) Lookup(name string) *Source {
	if src, ok := s.byName[name]; ok {
		return src
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if src, ok := s.defaults[name]; ok {
		return src
	}
	t := s.inference
	if s.labels[name] {
		t = s.label
	}
	src := *t // the compiled mapping and plan are shared, read-only
	src.Name = name
	s.defaults[name] = &src
	return &src
}

// NewSource checks one source's configuration and compiles it.
func NewSource(name string, sc SourceConfig, opts SourcesOptions) (*Source, error) {
	wrap := func(err error) error { return fmt.Errorf("source %q: %w", name, err) }
	src := &Source{Name: name, Kind: sc.Kind, SchemaVersion: sc.SchemaVersion, Limits: sc.Limits, Dedup: sc.Dedup,
		format: sc.Format, formats: map[string]Format{}, missing: map[string]error{}}
	if src.Kind == "" {
		src.Kind = KindInference
	}
	if src.Kind != KindInference && src.Kind != KindLabel {
		return nil, wrap(fmt.Errorf("kind %q: want inference or label", sc.Kind))
	}
	if src.format == "" {
		src.format = FormatJSON
	}
	if src.Limits.MaxRecordBytes == 0 {
		src.Limits.MaxRecordBytes = opts.Limits.MaxRecordBytes
	}
	for _, v := range []int{sc.Limits.MaxRecordBytes, sc.Limits.MaxDepth, sc.Limits.MaxDocuments, sc.Limits.MaxColumns} {
		if v < 0 {
			return nil, wrap(errors.New("limits must not be negative"))
		}
	}
	if err := sc.Dedup.check(); err != nil {
		return nil, wrap(err)
	}
	known := []string{FormatJSON, FormatJSONLines, FormatCSV, FormatXML, FormatAvro, FormatProtobuf}
	if !slices.Contains(known, src.format) {
		return nil, wrap(fmt.Errorf("format %q: want one of %s", sc.Format, strings.Join(known, ", ")))
	}
	l := src.Limits
	src.formats[FormatJSON] = jsonFormat{l}
	src.formats[FormatJSONLines] = jsonLinesFormat{l}
	xc := XMLConfig{}
	if sc.XML != nil {
		xc = *sc.XML
	}
	xf, err := newXMLFormat(xc, l)
	if err != nil {
		return nil, wrap(fmt.Errorf("xml: %w", err))
	}
	src.formats[FormatXML] = xf
	if sc.CSV != nil {
		cf, err := newCSVFormat(*sc.CSV, l)
		if err != nil {
			return nil, wrap(fmt.Errorf("csv: %w", err))
		}
		src.formats[FormatCSV] = cf
	} else {
		src.missing[FormatCSV] = errors.New("the source has no csv section (columns or header)")
	}
	for _, bin := range []struct {
		name string
		node *yaml.Node
	}{{FormatAvro, &sc.Avro}, {FormatProtobuf, &sc.Protobuf}} {
		if bin.node.Kind == 0 {
			src.missing[bin.name] = fmt.Errorf("the source has no %s section", bin.name)
			continue
		}
		factory := opts.Formats[bin.name]
		if factory == nil {
			return nil, wrap(fmt.Errorf("%s: this build has no %s support", bin.name, bin.name))
		}
		f, err := factory(bin.node)
		if err != nil {
			return nil, wrap(fmt.Errorf("%s: %w", bin.name, err))
		}
		src.formats[bin.name] = f
	}
	if _, ok := src.formats[src.format]; !ok {
		return nil, wrap(fmt.Errorf("format %s: %v", src.format, src.missing[src.format]))
	}
	if dp, ok := src.formats[src.format].(DefaultPather); ok {
		if p, ok := dp.DefaultPaths()["timestamp"]; ok && sc.Mapping.Timestamp == nil {
			sc.Mapping.Timestamp = defaultField(p)
		}
	}
	if src.mapping, err = compileMapping(src.Kind, sc.Mapping); err != nil {
		return nil, wrap(fmt.Errorf("mapping: %w", err))
	}
	src.plan = newPlan(src.mapping)
	return src, nil
}

// Decode normalises one record: the format named by its content-type
// header if Driftline knows that type (an unknown type is ignored, for
// producers that label everything text/plain), else the source's own. A
// record is normalised whole or rejected whole with a *Failure; any other
// error (a schema registry that cannot be reached) is not the record's
// fault and must be retried, not dead-lettered.
func (s *Source) Decode(value []byte, contentType string) ([]Event, error) {
	return s.DecodeInto(value, contentType, nil)
}

// DecodeInto is Decode into sc's events (see Scratch), for a caller that is
// done with a record's events before it decodes the next, as the adapter
// is once it has encoded them. A nil sc is Decode.
func (s *Source) DecodeInto(value []byte, contentType string, sc *Scratch) ([]Event, error) {
	if max := s.Limits.recordBytes(); len(value) > max {
		return nil, fail(ClassTooLarge, "record of %d bytes exceeds the limit of %d", len(value), max)
	}
	name := s.format
	if contentType != "" {
		if n := FormatForContentType(contentType); n != "" {
			name = n
		}
	}
	if s.plan != nil && (name == FormatJSON || name == FormatJSONLines) {
		return s.decodeJSON(value, name == FormatJSONLines, sc)
	}
	return s.decodeDocuments(name, value, contentType, sc)
}

// decodeDocuments is Decode through the format's Documents.
func (s *Source) decodeDocuments(name string, value []byte, contentType string, sc *Scratch) ([]Event, error) {
	f, ok := s.formats[name]
	if !ok {
		return nil, fail(ClassUnknownSchema, "content-type %q: %v", contentType, s.missing[name])
	}
	docs, err := documents(f, value)
	if err != nil {
		return nil, err
	}
	if len(docs) > s.Limits.documents() {
		return nil, fail(ClassTooLarge, "%d documents in one record, more than the limit of %d", len(docs), s.Limits.documents())
	}
	var events []Event
	if sc != nil {
		events = sc.begin()
		defer func() { sc.end(events) }()
	} else {
		events = make([]Event, 0, len(docs))
	}
	for i, d := range docs {
		ev, f := s.mapping.event(s.Name, s.SchemaVersion, docValues{d}, sc)
		if f != nil {
			if len(docs) > 1 {
				return nil, &Failure{Class: f.Class, Err: fmt.Errorf("document %d: %w", i+1, f.Err)}
			}
			return nil, f
		}
		events = append(events, ev)
	}
	return events, nil
}

// documents calls a format, turning a panic in a format from another
// package into a malformed record: hostile bytes must never stop the
// adapter.
func documents(f Format, value []byte) (docs []Document, err error) {
	defer func() {
		if r := recover(); r != nil {
			docs, err = nil, fail(ClassMalformed, "format failed: %v", r)
		}
	}()
	docs, err = f.Documents(value)
	if err != nil {
		// An error that is not a *Failure is nobody's record's fault (a
		// schema registry that cannot be reached): it goes up as it is,
		// for the caller to retry, not to dead-letter.
		return nil, err
	}
	return docs, nil
}
