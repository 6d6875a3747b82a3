package protobuf

import (
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/driftline/driftline/services/normalize"
)

// fields converts a message's fields into a Document (the top-level message
// is always a document, even a well-known type or a single oneof).
func fields(m protoreflect.Message, depth, maxDepth int) (normalize.Document, error) {
	if depth >= maxDepth {
		return nil, failf(normalize.ClassTooLarge, "message nested deeper than %d levels", maxDepth)
	}
	md := m.Descriptor()
	fds := md.Fields()
	doc := make(normalize.Document, fds.Len())
	for i := range fds.Len() {
		fd := fds.Get(i)
		if fd.HasPresence() && !m.Has(fd) {
			continue
		}
		v, err := value(fd, m.Get(fd), depth, maxDepth)
		if err != nil {
			return nil, err
		}
		doc[string(fd.Name())] = v
		if o := fd.ContainingOneof(); o != nil && !o.IsSynthetic() && fds.ByName(o.Name()) == nil {
			doc[string(o.Name())] = v
		}
	}
	return doc, nil
}

// message converts a nested message: well-known types and single-oneof
// messages become plain values, others Documents.
func message(m protoreflect.Message, depth, maxDepth int) (any, error) {
	depth++
	if depth >= maxDepth {
		return nil, failf(normalize.ClassTooLarge, "message nested deeper than %d levels", maxDepth)
	}
	md := m.Descriptor()
	fds := md.Fields()
	switch md.FullName() {
	case "google.protobuf.Timestamp":
		return time.Unix(m.Get(fds.ByNumber(1)).Int(), m.Get(fds.ByNumber(2)).Int()).UTC(), nil
	case "google.protobuf.Duration":
		s, ns := m.Get(fds.ByNumber(1)).Int(), m.Get(fds.ByNumber(2)).Int()
		return float64(s)*1e3 + float64(ns)/1e6, nil
	case "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
		"google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
		"google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		fd := fds.ByNumber(1)
		return value(fd, m.Get(fd), depth, maxDepth)
	case "google.protobuf.Struct":
		fd := fds.ByNumber(1)
		return value(fd, m.Get(fd), depth, maxDepth)
	case "google.protobuf.ListValue":
		fd := fds.ByNumber(1)
		return value(fd, m.Get(fd), depth, maxDepth)
	case "google.protobuf.Value":
		fd := m.WhichOneof(md.Oneofs().Get(0))
		if fd == nil || fd.Name() == "null_value" {
			return nil, nil
		}
		return value(fd, m.Get(fd), depth, maxDepth)
	}
	if o := soleOneof(md); o != nil {
		fd := m.WhichOneof(o)
		if fd == nil {
			return nil, nil
		}
		return value(fd, m.Get(fd), depth, maxDepth)
	}
	return fields(m, depth, maxDepth)
}

// soleOneof returns the oneof of a message whose fields all belong to it,
// like driftline.v1.Value.
func soleOneof(md protoreflect.MessageDescriptor) protoreflect.OneofDescriptor {
	if md.Oneofs().Len() != 1 || md.Fields().Len() == 0 {
		return nil
	}
	o := md.Oneofs().Get(0)
	if o.IsSynthetic() || o.Fields().Len() != md.Fields().Len() {
		return nil
	}
	return o
}

// value converts one field's value: a list, a map or a single value.
func value(fd protoreflect.FieldDescriptor, v protoreflect.Value, depth, maxDepth int) (any, error) {
	switch {
	case fd.IsList():
		l := v.List()
		out := make([]any, l.Len())
		for i := range l.Len() {
			x, err := single(fd, l.Get(i), depth, maxDepth)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case fd.IsMap():
		mp := v.Map()
		out := make(normalize.Document, mp.Len())
		var err error
		mp.Range(func(k protoreflect.MapKey, e protoreflect.Value) bool {
			var x any
			if x, err = single(fd.MapValue(), e, depth, maxDepth); err != nil {
				return false
			}
			out[k.String()] = x
			return true
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	return single(fd, v, depth, maxDepth)
}

func single(fd protoreflect.FieldDescriptor, v protoreflect.Value, depth, maxDepth int) (any, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return v.Bool(), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return int32(v.Int()), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return v.Int(), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return uint32(v.Uint()), nil
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return v.Uint(), nil
	case protoreflect.FloatKind:
		return float32(v.Float()), nil
	case protoreflect.DoubleKind:
		return v.Float(), nil
	case protoreflect.StringKind:
		return v.String(), nil
	case protoreflect.BytesKind:
		return v.Bytes(), nil
	case protoreflect.EnumKind:
		n := v.Enum()
		if ev := fd.Enum().Values().ByNumber(n); ev != nil {
			return string(ev.Name()), nil
		}
		return int32(n), nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return message(v.Message(), depth, maxDepth)
	}
	return nil, failf(normalize.ClassMalformed, "field %s: unexpected kind %v", fd.FullName(), fd.Kind())
}
