// Package migrations holds Driftline's versioned ClickHouse schema. Files are
// named NNNN_description.sql and applied in order; each file may hold several
// statements separated by semicolons at the end of a line.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
