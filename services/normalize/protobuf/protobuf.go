package protobuf

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/driftline/driftline/services/normalize"
)

// Format reads records holding one Protobuf message. It is safe for
// concurrent use.
type Format struct {
	cfg   Config
	desc  protoreflect.MessageDescriptor
	typ   protoreflect.MessageType
	opts  proto.UnmarshalOptions
	index []int // the message's path in its file, as the Confluent framing gives it
}

var _ normalize.Format = (*Format)(nil)

// New validates cfg and compiles its .proto files; errors name the file and
// line of a compile error, or the message that is missing.
func New(cfg Config) (normalize.Format, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	md, err := compile(cfg)
	if err != nil {
		return nil, err
	}
	return &Format{
		cfg:   cfg,
		desc:  md,
		index: messageIndex(md),
		typ:   dynamicpb.NewMessageType(md),
		opts: proto.UnmarshalOptions{
			// Fields a newer producer added are not kept: the Mapping
			// cannot read them by name anyway.
			DiscardUnknown: true,
			RecursionLimit: cfg.MaxDepth,
		},
	}, nil
}

func compile(cfg Config) (protoreflect.MessageDescriptor, error) {
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: cfg.ImportPaths}),
	}
	files, err := c.Compile(context.Background(), cfg.Files...)
	if err != nil {
		return nil, fmt.Errorf("protobuf: compiling %v: %w", cfg.Files, err)
	}
	d, err := files.AsResolver().FindDescriptorByName(protoreflect.FullName(cfg.Message))
	if err != nil {
		return nil, fmt.Errorf("protobuf: message %q: not defined in %v or their imports", cfg.Message, cfg.Files)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("protobuf: message %q: is a %T, not a message", cfg.Message, d)
	}
	if md.IsMapEntry() {
		return nil, fmt.Errorf("protobuf: message %q: is a map entry, not a message", cfg.Message)
	}
	return md, nil
}

// Documents decodes one record into one document. Errors are
// *normalize.Failure.
func (f *Format) Documents(value []byte) ([]normalize.Document, error) {
	if len(value) > f.cfg.MaxRecordBytes {
		return nil, failf(normalize.ClassTooLarge, "record of %d bytes exceeds the limit of %d", len(value), f.cfg.MaxRecordBytes)
	}
	if len(value) > 0 && value[0] == 0 {
		var err error
		if value, err = f.confluentBody(value); err != nil {
			return nil, err
		}
	}
	m := f.typ.New()
	if err := f.unmarshal(value, m); err != nil {
		class := normalize.ClassMalformed
		// protobuf-go has no sentinel for its RecursionLimit; the message
		// is stable since v1.26. Should it change, the record is still
		// dead-lettered, as malformed.
		if strings.Contains(err.Error(), "exceeded maximum recursion depth") {
			class = normalize.ClassTooLarge
		}
		return nil, failf(class, "not a %s: %v", f.desc.FullName(), err)
	}
	doc, err := fields(m, 0, f.cfg.MaxDepth)
	if err != nil {
		return nil, err
	}
	return []normalize.Document{doc}, nil
}

// confluentBody strips the Confluent framing of Protobuf records (00, a
// 4-byte schema id, the message's index path in the schema's file). A bare
// message never starts with 00, which would be field number 0. The id is
// not looked up: the record is read as the configured message, provided the
// index path names it in its file.
func (f *Format) confluentBody(value []byte) ([]byte, error) {
	var h sr.ConfluentHeader
	id, rest, err := h.DecodeID(value)
	if err != nil {
		return nil, failf(normalize.ClassMalformed, "Confluent header: %v", err)
	}
	index, rest, err := h.DecodeIndex(rest, maxIndexDepth)
	if err != nil {
		return nil, failf(normalize.ClassMalformed, "Confluent header of schema id %d: message index: %v", id, err)
	}
	if !slices.Equal(index, f.index) {
		return nil, failf(normalize.ClassUnknownSchema, "schema id %d: the record holds the message at index %v of its file, this source reads %s (index %v)", id, index, f.desc.FullName(), f.index)
	}
	return rest, nil
}

// maxIndexDepth bounds the message index of the Confluent framing: the
// nesting of message declarations in a .proto file.
const maxIndexDepth = 32

// messageIndex is md's path of declaration indexes from its file.
func messageIndex(md protoreflect.MessageDescriptor) []int {
	var path []int
	var d protoreflect.Descriptor = md
	for ; d != nil; d = d.Parent() {
		if _, ok := d.(protoreflect.FileDescriptor); ok {
			break
		}
		path = append(path, d.Index())
	}
	slices.Reverse(path)
	return path
}

// unmarshal recovers panics: protobuf-go's reflective decoder, which dynamic
// messages take, panics on a map entry that repeats its key with the wrong
// wire type (found by FuzzDocuments, protobuf-go v1.36.12), and a record
// must never take the adapter down.
func (f *Format) unmarshal(value []byte, m protoreflect.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("protobuf-go panicked: %v", r)
		}
	}()
	return f.opts.Unmarshal(value, m.Interface())
}

func failf(class, format string, args ...any) *normalize.Failure {
	return &normalize.Failure{Class: class, Err: fmt.Errorf(format, args...)}
}

// DefaultPaths implements normalize.DefaultPather: Driftline's own events
// (proto/driftline/v1) name their time event_time and label_time, which a
// source reading them needs no mapping for.
func (f *Format) DefaultPaths() map[string]string {
	switch f.desc.FullName() {
	case "driftline.v1.InferenceEvent":
		return map[string]string{"timestamp": "event_time"}
	case "driftline.v1.LabelEvent":
		return map[string]string{"timestamp": "label_time"}
	}
	return nil
}
