package avro

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/driftline/driftline/schemas"
	"github.com/driftline/driftline/services/normalize"
)

// Framing magic bytes.
const (
	confluentMagic  = 0x00
	confluentHeader = 5 // magic, 4-byte big-endian schema id
	soeMagic0       = 0xC3
	soeMagic1       = 0x01
	soeHeader       = 10 // magic, 8-byte little-endian fingerprint
)

// Format reads Avro records in either framing. It is safe for concurrent
// use.
type Format struct {
	cfg      Config
	limits   schemas.Limits
	byFP     map[uint64]*schemas.Generic
	registry *registry // nil without registry.urls
}

var _ normalize.Format = (*Format)(nil)

// New validates cfg, compiles the configured writer schemas and sets up the
// registry client. It does not contact the registry: schemas are fetched
// when a record first names their id.
func New(cfg Config) (normalize.Format, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	f := &Format{
		cfg:    cfg,
		limits: schemas.Limits{MaxBytes: cfg.MaxRecordBytes, MaxItems: cfg.MaxItems},
		byFP:   map[uint64]*schemas.Generic{},
	}
	add := func(what, schema string) error {
		g, err := schemas.NewGeneric(schema)
		if err != nil {
			return fmt.Errorf("avro: %s: %w", what, err)
		}
		f.byFP[g.Fingerprint()] = g
		return nil
	}
	for i, s := range cfg.Schemas {
		if err := add(fmt.Sprintf("schemas[%d]", i), s); err != nil {
			return nil, err
		}
	}
	for i, path := range cfg.SchemaFiles {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("avro: schema_files[%d]: %w", i, err)
		}
		if err := add(fmt.Sprintf("schema_files[%d] %s", i, path), string(b)); err != nil {
			return nil, err
		}
	}
	if len(cfg.Registry.URLs) > 0 {
		if f.registry, err = newRegistry(cfg.Registry); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Documents decodes one record into one document. Errors are
// *normalize.Failure, except registry outages (see ErrRegistryUnavailable).
func (f *Format) Documents(value []byte) ([]normalize.Document, error) {
	if len(value) > f.cfg.MaxRecordBytes {
		return nil, failf(normalize.ClassTooLarge, "record of %d bytes exceeds the limit of %d", len(value), f.cfg.MaxRecordBytes)
	}
	g, body, err := f.writer(value)
	if err != nil {
		return nil, err
	}
	native, err := g.Decode(body, f.limits)
	if err != nil {
		if errors.Is(err, schemas.ErrTooLarge) {
			return nil, &normalize.Failure{Class: normalize.ClassTooLarge, Err: err}
		}
		return nil, &normalize.Failure{Class: normalize.ClassMalformed, Err: err}
	}
	c := converter{decimalString: f.cfg.Decimal == decimalString, maxDepth: f.cfg.MaxDepth}
	v, err := c.value(native, 0)
	if err != nil {
		return nil, err
	}
	doc, ok := v.(normalize.Document)
	if !ok {
		return nil, failf(normalize.ClassMalformed, "writer schema %s is not a record: got %T", g.Name(), v)
	}
	return []normalize.Document{doc}, nil
}

// writer finds the writer schema from the framing and returns the body.
func (f *Format) writer(value []byte) (*schemas.Generic, []byte, error) {
	switch {
	case len(value) >= 2 && value[0] == soeMagic0 && value[1] == soeMagic1:
		if len(value) < soeHeader {
			return nil, nil, failf(normalize.ClassMalformed, "single-object header truncated: %d bytes", len(value))
		}
		fp := binary.LittleEndian.Uint64(value[2:soeHeader])
		g := f.byFP[fp]
		if g == nil {
			return nil, nil, failf(normalize.ClassUnknownSchema, "no configured writer schema has fingerprint %016x", fp)
		}
		return g, value[soeHeader:], nil
	case len(value) >= 1 && value[0] == confluentMagic:
		if len(value) < confluentHeader {
			return nil, nil, failf(normalize.ClassMalformed, "Confluent header truncated: %d bytes", len(value))
		}
		id := binary.BigEndian.Uint32(value[1:confluentHeader])
		if f.registry == nil {
			return nil, nil, failf(normalize.ClassUnknownSchema, "schema id %d: the record is in the Confluent framing but no registry.urls are configured", id)
		}
		g, err := f.registry.lookup(id)
		if err != nil {
			return nil, nil, err
		}
		return g, value[confluentHeader:], nil
	case len(value) == 0:
		return nil, nil, failf(normalize.ClassMalformed, "empty record")
	}
	return nil, nil, failf(normalize.ClassMalformed, "not Avro: first byte %#02x is neither the Confluent magic 0x00 nor single-object C3 01", value[0])
}

func failf(class, format string, args ...any) *normalize.Failure {
	return &normalize.Failure{Class: class, Err: fmt.Errorf(format, args...)}
}
