package avro

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"
)

// Config configures the Avro format of one source. At least one of
// Registry.URLs, Schemas and SchemaFiles is required: records in the
// Confluent framing need the registry, records in single-object encoding
// need their writer schema in Schemas or SchemaFiles.
type Config struct {
	// Registry is the Confluent-compatible schema registry.
	Registry Registry `yaml:"registry"`
	// Schemas are writer schemas (self-contained Avro JSON) of records in
	// single-object encoding, found by fingerprint.
	Schemas []string `yaml:"schemas"`
	// SchemaFiles are paths of .avsc files holding more such schemas.
	SchemaFiles []string `yaml:"schema_files"`
	// Decimal is how decimal logical values are given to the Mapping:
	// "float" (float64, the default) or "string" (exact, e.g. "12.5").
	Decimal string `yaml:"decimal"`
	// MaxRecordBytes bounds one record, framing included (default
	// normalize.DefaultMaxRecordBytes).
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// MaxItems bounds the array and map entries of one record, summed
	// (default 65536).
	MaxItems int `yaml:"max_items"`
	// MaxDepth bounds how deep records, maps and arrays nest (default and
	// most 64).
	MaxDepth int `yaml:"max_depth"`
}

// Registry configures the schema registry client (franz-go's pkg/sr).
type Registry struct {
	// URLs of the registry; the client tries them in order.
	URLs []string `yaml:"urls"`
	// Username and Password for HTTP basic authentication, if any.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// TLS for https URLs: a CA bundle to trust instead of the system's, and
	// a client certificate for mutual TLS.
	TLS TLS `yaml:"tls"`
	// Timeout bounds one schema lookup (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// CacheSize bounds the schemas kept by id (default 1024). Ids are
	// immutable, so a cached schema is never fetched again unless evicted.
	CacheSize int `yaml:"cache_size"`
	// NotFoundTTL is how long an id the registry did not have is answered
	// from the cache (default 1m): long enough that a stream of records with
	// an unknown id does not hammer the registry, short enough that a schema
	// registered late (or a lagging replica) is picked up.
	NotFoundTTL time.Duration `yaml:"not_found_ttl"`
}

// TLS names PEM files.
type TLS struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Defaults.
const (
	DefaultMaxItems       = 1 << 16
	DefaultMaxDepth       = 64
	DefaultTimeout        = 10 * time.Second
	DefaultCacheSize      = 1024
	DefaultNotFoundTTL    = time.Minute
	defaultMaxRecordBytes = 1 << 20 // normalize.DefaultMaxRecordBytes
	decimalFloat          = "float"
	decimalString         = "string"
)

// withDefaults validates the configuration and fills in the defaults. The
// errors name the key at fault.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if len(c.Registry.URLs) == 0 && len(c.Schemas) == 0 && len(c.SchemaFiles) == 0 {
		errs = append(errs, errors.New("avro: set registry.urls, schemas or schema_files: without them no record can be decoded"))
	}
	for i, u := range c.Registry.URLs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("avro: registry.urls[%d] %q: want an http:// or https:// URL", i, u))
		}
	}
	if c.Registry.Password != "" && c.Registry.Username == "" {
		errs = append(errs, errors.New("avro: registry.password is set but registry.username is not"))
	}
	if (c.Registry.TLS.CertFile == "") != (c.Registry.TLS.KeyFile == "") {
		errs = append(errs, errors.New("avro: registry.tls.cert_file and registry.tls.key_file go together"))
	}
	for i, f := range c.SchemaFiles {
		if st, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("avro: schema_files[%d]: %w", i, err))
		} else if st.IsDir() {
			errs = append(errs, fmt.Errorf("avro: schema_files[%d] %q is a directory", i, f))
		}
	}
	switch c.Decimal {
	case "":
		c.Decimal = decimalFloat
	case decimalFloat, decimalString:
	default:
		errs = append(errs, fmt.Errorf("avro: decimal %q: want %q or %q", c.Decimal, decimalFloat, decimalString))
	}
	positive := func(key string, v *int, def int) {
		switch {
		case *v < 0:
			errs = append(errs, fmt.Errorf("avro: %s %d is negative", key, *v))
		case *v == 0:
			*v = def
		}
	}
	positive("max_record_bytes", &c.MaxRecordBytes, defaultMaxRecordBytes)
	positive("max_items", &c.MaxItems, DefaultMaxItems)
	positive("max_depth", &c.MaxDepth, DefaultMaxDepth)
	positive("registry.cache_size", &c.Registry.CacheSize, DefaultCacheSize)
	if c.MaxDepth > DefaultMaxDepth {
		errs = append(errs, fmt.Errorf("avro: max_depth %d exceeds %d, the most the decoder allows", c.MaxDepth, DefaultMaxDepth))
	}
	durations := func(key string, v *time.Duration, def time.Duration) {
		switch {
		case *v < 0:
			errs = append(errs, fmt.Errorf("avro: %s %v is negative", key, *v))
		case *v == 0:
			*v = def
		}
	}
	durations("registry.timeout", &c.Registry.Timeout, DefaultTimeout)
	durations("registry.not_found_ttl", &c.Registry.NotFoundTTL, DefaultNotFoundTTL)
	return c, errors.Join(errs...)
}
