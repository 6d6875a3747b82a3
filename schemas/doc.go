// Package schemas defines Driftline's canonical events and their Avro wire
// format, so that every service, tool and test reads and writes the same
// bytes.
//
// The Go structs in events.go are what services code against; the Avro
// schemas under avro/ are the contract on Kafka (namespace dev.driftline,
// snake_case field names). The schemas are embedded in the binary, so a
// service never needs a schema registry to read or write an event.
//
// Two framings exist on the wire and readers accept both:
//
//   - Avro single-object encoding, used when no schema registry is
//     configured: C3 01, the 8-byte little-endian CRC-64-AVRO fingerprint of
//     the writer schema's canonical form, then the Avro binary body.
//   - Confluent framing, used with a Confluent-compatible registry: 00, the
//     4-byte big-endian schema id, then the body.
//
// Marshal and MarshalConfluent write the current schema version, with map
// entries in key order so that equal events give equal bytes. Unmarshal
// finds the writer schema (by fingerprint among the embedded current and
// historic schemas and any registered at run time, or by registry id through
// a Decoder's Resolver), decodes the body with github.com/linkedin/goavro/v2
// after a guard pass that refuses truncated or hostile input before goavro
// allocates for it, and then applies Avro's schema resolution rules, which
// goavro lacks: fields the writer did not have take the reader's default,
// fields the reader does not know are dropped, and int, long and float
// promote to the wider types.
//
// Fingerprints follow the Avro specification (and Java, Python and Rust),
// not goavro's Codec.Rabin, which differs for schemas with logical types.
//
// Evolving a schema: add fields with defaults (optional fields are unions
// with null first and default null), save the version being replaced under
// avro/history/ (see the README there) so that old single-object data still
// decodes, and regenerate the golden files with go test -update.
package schemas
