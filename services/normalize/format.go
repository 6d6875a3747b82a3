package normalize

// A Format reads the value of one raw Kafka record into documents. One
// record may hold several documents (JSON Lines, several CSV lines); a
// format that sees one document per record returns a slice of one.
//
// A record that cannot be read returns a *Failure (ClassMalformed for bad
// bytes, ClassUnknownSchema for a schema id or name nobody configured), and
// no documents: a record is normalised whole or dead-lettered whole.
//
// Formats live in this package (json, jsonl, csv, xml) and in sub-packages
// that need heavier dependencies (avro, protobuf); the adapter picks one per
// source from the mapping file or a record's content-type header.
type Format interface {
	Documents(value []byte) ([]Document, error)
}

// Document is one decoded record as a tree that a Mapping reads by path.
// Values are nil, bool, string, json.Number, float64, float32, int, int32,
// int64, uint32, uint64, []byte, time.Time, []any and Document (nested
// records, maps and XML elements). Formats keep producer types as they are;
// coercion (string numbers, epoch times, "true") is the Mapping's job, so
// every format gets the same rules.
type Document = map[string]any

// ClassUnknownSchema is the error class of a record whose schema (a
// registry id, a single-object fingerprint, a Protobuf message name) is not
// known to the source's format.
const ClassUnknownSchema = "unknown_schema"

// A DefaultPather is a Format whose documents keep some canonical fields
// under other names: the canonical Protobuf events call their time
// event_time or label_time, where the default mapping reads "timestamp". A
// source whose own format is one reads those fields from there unless its
// mapping names them.
type DefaultPather interface {
	DefaultPaths() map[string]string // canonical field → path
}
