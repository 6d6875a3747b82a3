// Package avro is the adapter's Avro input format: it reads raw producer
// records framed either the Confluent way (magic byte 0, a 4-byte schema id
// looked up in a Confluent-compatible schema registry) or with Avro
// single-object encoding (C3 01 and the writer schema's 8-byte CRC-64-AVRO
// fingerprint, the writer schemas given in the configuration), and turns each
// into one normalize.Document.
//
// Bodies are decoded with the writer schema only, through schemas.Generic
// (github.com/linkedin/goavro/v2 behind a guard that refuses truncated and
// hostile input before goavro allocates). No reader schema is needed: the
// source's Mapping reads fields by name, so a field a newer producer added
// is simply there, and a field an older or newer producer lacks is absent and
// takes the Mapping's default or fails as missing_field.
//
// Values become the types normalize.Document lists: records and maps are
// Documents, arrays []any, unions the value of their branch (nil for null),
// enums strings, bytes and fixed []byte, int int32, long int64, float
// float32, double float64, timestamp-millis, timestamp-micros and date
// time.Time (UTC), decimal float64 (or an exact decimal string with
// decimal: string), time-millis and time-micros int64 milliseconds since
// midnight.
//
// Registry errors come in two kinds. An id the registry does not have, or
// whose schema is not a usable Avro schema, is the record's fault: Documents
// returns a *normalize.Failure of class unknown_schema and the adapter
// dead-letters the record. A registry that cannot be reached, times out,
// answers 5xx or 429, or refuses the credentials is nobody's record's fault:
// Documents returns an error wrapping ErrRegistryUnavailable that is not a
// *normalize.Failure, and the caller must retry the record later (or stop)
// rather than dead-letter it, so that an outage does not turn good records
// into dead letters.
package avro
