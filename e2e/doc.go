// Package e2e holds Driftline's end-to-end tests: the whole pipeline on the
// in-process Kafka and the embedded ClickHouse engine, driven by the
// synthetic producer, checked against the truth it generated.
package e2e
