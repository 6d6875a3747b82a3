// Package normalize turns raw producer records into Driftline's canonical
// events. It is the adapter's logic, free of Kafka so that the service, the
// offline `driftline adapt` command and the tests share it.
//
// A record goes through two steps: its source's Format reads the bytes into
// Documents (JSON, JSON Lines, CSV, XML here; Avro and Protobuf in
// sub-packages), and the source's mapping reads each Document into an
// InferenceEvent or a LabelEvent, coercing types by the same rules whatever
// the format. A record that fails either step is rejected whole with a
// *Failure naming its error class, which the adapter dead-letters.
package normalize

import (
	"errors"
	"fmt"

	"github.com/driftline/driftline/schemas"
)

// Kinds of source.
const (
	KindInference = "inference"
	KindLabel     = "label"
)

// Error classes of a Failure, as counted and stored with dead letters
// (ClassUnknownSchema is in format.go).
const (
	ClassTooLarge     = "too_large"
	ClassMalformed    = "malformed"
	ClassMissingField = "missing_field"
	ClassWrongType    = "wrong_type"
	// ClassDuplicate is a record whose event_id was seen within the
	// source's duplicate horizon (see Dedup).
	ClassDuplicate = "duplicate"
)

// Dead-letter stages: StageDecode for everything a Source rejects,
// StageDedup for duplicates.
const (
	StageDecode = "decode"
	StageDedup  = "dedup"
)

// Failure says why a record could not be normalised.
type Failure struct {
	Class string
	Err   error
}

func (f *Failure) Error() string { return f.Class + ": " + f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

func fail(class, format string, args ...any) *Failure {
	return &Failure{Class: class, Err: fmt.Errorf(format, args...)}
}

// Event is one normalised document: exactly one of the two is set.
type Event struct {
	Inference *schemas.InferenceEvent
	Label     *schemas.LabelEvent
}

// ClassOf returns the error class of err, or "internal".
func ClassOf(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Class
	}
	return "internal"
}
