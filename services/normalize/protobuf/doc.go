// Package protobuf is the adapter's Protobuf input format: it compiles the
// .proto files of a source at start-up (github.com/bufbuild/protocompile, no
// protoc; google/protobuf/*.proto resolve to the well-known types built into
// the binary), decodes each raw record as the configured message with
// google.golang.org/protobuf's dynamicpb, and turns it into one
// normalize.Document.
//
// Field names are those of the .proto file. Values become the types
// normalize.Document lists:
//
//   - int32, sint32, sfixed32 → int32; int64, sint64, sfixed64 → int64;
//     uint32, fixed32 → uint32; uint64, fixed64 → uint64; float → float32;
//     double → float64; bool; string; bytes → []byte;
//   - enums → the value's name (a number no name matches → its int32);
//   - messages and maps → Document (map keys as strings); repeated → []any;
//   - a oneof → its set field, under the field's name and, unless a field
//     has that name, the oneof's name too (LabelEvent's label); a message
//     made of one oneof only (driftline.v1.Value) → its set value (nil if
//     unset), so features read as plain values;
//   - google.protobuf.Timestamp → time.Time (UTC); Duration → float64
//     milliseconds; the wrappers (DoubleValue…) → their value; Struct,
//     Value and ListValue → Document, plain values and []any as in JSON.
//
// Presence follows the message: a field with presence (proto3 optional,
// proto2 fields, messages, oneof members) that is not set is absent from the
// document, so the Mapping takes its default or fails missing_field. A
// proto3 scalar without optional has no presence on the wire: zero and
// unset are the same bytes, so it is always present, with its zero value
// when unset; producers that need "missing" to be distinct declare the field
// optional (or use a wrapper or a oneof).
//
// Records are bare messages, or in the Confluent framing of Protobuf (00, a
// 4-byte schema id, the message's index path in its file), which a bare
// message can never start with. The schema id is not looked up: the record
// is read as the configured message if the index path names that message in
// its file, and refused as unknown_schema otherwise.
//
// Schema evolution is Protobuf's: fields a newer producer added are unknown
// to an older descriptor and dropped; fields the producer no longer sends
// are unset. Decoding never panics on hostile bytes; records are bounded in
// size and nesting (proto.UnmarshalOptions.RecursionLimit).
package protobuf
