package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Open returns the Store a DSN names:
//
//	clickhouse://user:password@host:9000/database?dial_timeout=5s&secure=true
//	    a ClickHouse server over the native protocol, through clickhouse-go
//	    (see clickhouse.ParseDSN for the parameters); Open pings it.
//	chdb:///absolute/path
//	chdb://relative/path
//	    the embedded chDB engine on that data directory, created if missing.
//	    Everything after "chdb://" is a file path, taken literally: with a
//	    third slash it is absolute, without one it is relative to the working
//	    directory (chdb://.driftline/chdb is ./.driftline/chdb). It needs
//	    libchdb.so; see package chdb.
//
// Errors name the DSN with its password replaced by "xxxxx".
//
// Both stores accept the same rows and return the same Go values. Insert
// checks each value against its column's type (an out-of-range integer or
// an unknown column is an error, not wrapped or dropped) and fills a column
// that some rows omit with its type's zero value, so such a column must not
// have a DEFAULT expression; a column no row names gets its DEFAULT. Values
// in a Result have these types, chosen by the column's ClickHouse type:
//
//	Int8 … Int64                          int64
//	UInt8 … UInt64                        uint64
//	Float32, Float64, BFloat16            float64 (NaN and ±Inf included)
//	Bool                                  bool
//	String, FixedString, LowCardinality,
//	Enum8/16, UUID, IPv4, IPv6            string (String bytes kept exactly)
//	Int128 … UInt256, Decimal(P, S)       string (exact decimal text)
//	Date, Date32, DateTime, DateTime64    time.Time, in UTC
//	Nullable(T)                           T's type, or nil for NULL
//	Array(T), Tuple(…)                    []any
//	Map(String, String)                   map[string]string
//	Map(K, V)                             map[string]any (keys as text)
//
// Other types (JSON, Variant, Dynamic, …) come back as each store renders
// them. Send one statement per Exec or Query: the server refuses several,
// and the embedded store cannot read the output of more than one. The
// embedded engine cannot interrupt a running statement, so there ctx is
// checked only before each.
func Open(ctx context.Context, dsn string) (Store, error) {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return nil, errors.New("store: DSN has no scheme; want clickhouse://host:9000/db or chdb:///path/to/dir")
	}
	switch strings.ToLower(scheme) {
	case "clickhouse":
		return openNative(ctx, dsn)
	case "chdb":
		if rest == "" {
			return nil, errors.New("store: chdb:// DSN names no directory; want chdb:///absolute/path or chdb://relative/path")
		}
		dir, err := filepath.Abs(rest)
		if err != nil {
			return nil, fmt.Errorf("store: chdb directory %s: %w", rest, err)
		}
		return openEmbedded(ctx, dir)
	}
	return nil, fmt.Errorf("store: unsupported DSN scheme %q; want clickhouse:// (a ClickHouse server) or chdb:// (the embedded engine)", scheme)
}

// redactDSN is the DSN fit for errors and logs.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		scheme, _, _ := strings.Cut(dsn, "://")
		return scheme + "://(unparsable DSN)"
	}
	return u.Redacted()
}

// scrubSecret removes the DSN and its password from a message from a
// library that may quote them (url.Error quotes the whole URL).
func scrubSecret(msg, dsn string) string {
	msg = strings.ReplaceAll(msg, dsn, redactDSN(dsn))
	if u, err := url.Parse(dsn); err == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	} else if _, rest, ok := strings.Cut(dsn, "://"); ok {
		// Unparsable: blank anything that looks like user:password@.
		if userinfo, _, ok := strings.Cut(rest, "@"); ok {
			if _, p, ok := strings.Cut(userinfo, ":"); ok && p != "" {
				msg = strings.ReplaceAll(msg, p, "xxxxx")
			}
		}
	}
	return msg
}
