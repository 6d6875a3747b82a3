// Package e2e holds Driftline's end-to-end tests: the whole pipeline on the
// in-process Kafka and the embedded ClickHouse engine, driven by the
// synthetic producer, checked against the truth it generated; the same on a
// real Apache Kafka broker; and a fault suite on that broker (a killed
// instance, a broker restart, failing inserts, a restart from committed
// offsets) whose runs must end with the fault-free run's metrics.
package e2e
