// Package formats registers the binary input formats that live in their
// own packages (Avro, Protobuf) with the adapter's mapping loader, so that
// package normalize needs none of their dependencies and they can import
// it.
package formats

import (
	"github.com/driftline/driftline/services/normalize"
	"github.com/driftline/driftline/services/normalize/avro"
	"github.com/driftline/driftline/services/normalize/protobuf"
	"gopkg.in/yaml.v3"
)

// All returns the factories of the formats defined outside package
// normalize, by the name sources give in `format:`.
func All() map[string]normalize.FormatFactory {
	return map[string]normalize.FormatFactory{
		normalize.FormatAvro: func(n *yaml.Node) (normalize.Format, error) {
			var cfg avro.Config
			if err := normalize.DecodeSection(n, &cfg); err != nil {
				return nil, err
			}
			return avro.New(cfg)
		},
		normalize.FormatProtobuf: func(n *yaml.Node) (normalize.Format, error) {
			var cfg protobuf.Config
			if err := normalize.DecodeSection(n, &cfg); err != nil {
				return nil, err
			}
			return protobuf.New(cfg)
		},
	}
}

// LoadFile reads a mapping file with every format available.
func LoadFile(path string, opts normalize.SourcesOptions) (*normalize.Sources, error) {
	opts.Formats = All()
	return normalize.LoadFile(path, opts)
}
