package protobuf

import (
	"errors"
	"fmt"
)

// Config configures the Protobuf format of one source.
type Config struct {
	// Files are the .proto files to compile, as they are imported: relative
	// to one of ImportPaths. Their imports are found the same way, and
	// google/protobuf/*.proto are built in.
	Files []string `yaml:"files"`
	// ImportPaths are the directories Files and their imports are looked up
	// in (default: the working directory).
	ImportPaths []string `yaml:"import_paths"`
	// Message is the full name of the message each record holds, e.g.
	// driftline.v1.InferenceEvent.
	Message string `yaml:"message"`
	// MaxRecordBytes bounds one record (default 1 MiB).
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// MaxDepth bounds message nesting (default 64).
	MaxDepth int `yaml:"max_depth"`
}

// Defaults.
const (
	DefaultMaxRecordBytes = 1 << 20
	DefaultMaxDepth       = 64
)

// withDefaults validates the configuration and fills in the defaults. The
// errors name the key at fault.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if len(c.Files) == 0 {
		errs = append(errs, errors.New("protobuf: files: give the .proto files that define the message"))
	}
	if c.Message == "" {
		errs = append(errs, errors.New("protobuf: message: give the full name of the records' message, e.g. driftline.v1.InferenceEvent"))
	}
	for key, v := range map[string]*int{"max_record_bytes": &c.MaxRecordBytes, "max_depth": &c.MaxDepth} {
		if *v < 0 {
			errs = append(errs, fmt.Errorf("protobuf: %s %d is negative", key, *v))
		}
	}
	if c.MaxRecordBytes == 0 {
		c.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = DefaultMaxDepth
	}
	if c.MaxDepth > 10000 {
		errs = append(errs, fmt.Errorf("protobuf: max_depth %d exceeds 10000, protobuf's own limit", c.MaxDepth))
	}
	return c, errors.Join(errs...)
}
