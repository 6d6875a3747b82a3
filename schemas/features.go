package schemas

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// FeatureType is the branch of an InferenceEvent feature value's union
// ["null", "double", "long", "string", "boolean"].
type FeatureType uint8

// Feature value types, in the union's order.
const (
	FeatureNull FeatureType = iota
	FeatureDouble
	FeatureLong
	FeatureString
	FeatureBoolean
)

// Feature is one feature of an InferenceEvent with its value typed rather
// than boxed in an any: the field of Type holds the value.
type Feature struct {
	Name   string
	Type   FeatureType
	Double float64 // FeatureDouble
	Long   int64   // FeatureLong
	Str    string  // FeatureString
	Bool   bool    // FeatureBoolean
}

// Value returns the value as InferenceEvent.Features holds it: nil,
// float64, int64, string or bool.
func (f *Feature) Value() any {
	switch f.Type {
	case FeatureDouble:
		return f.Double
	case FeatureLong:
		return f.Long
	case FeatureString:
		return f.Str
	case FeatureBoolean:
		return f.Bool
	}
	return nil
}

// featureOf is the Feature of a decoded value; ok is false for a type an
// InferenceEvent's features cannot hold.
func featureOf(name string, v any) (f Feature, ok bool) {
	f.Name = name
	switch x := v.(type) {
	case nil:
	case float64:
		f.Type, f.Double = FeatureDouble, x
	case int64:
		f.Type, f.Long = FeatureLong, x
	case string:
		f.Type, f.Str = FeatureString, x
	case bool:
		f.Type, f.Bool = FeatureBoolean, x
	default:
		return f, false
	}
	return f, true
}

// UnmarshalFeatures is Unmarshal into an InferenceEvent for a consumer
// that reads the features one after the other, as drift level 1 does: e
// gets every field but Features, which stays nil, and the features go to
// feats[:0], which is returned. See Decoder.UnmarshalFeatures.
func UnmarshalFeatures(b []byte, e *InferenceEvent, feats []Feature) ([]Feature, error) {
	return defaultDecoder.UnmarshalFeatures(b, e, feats)
}

// UnmarshalFeatures is Unmarshal into an InferenceEvent, except that the
// features are appended to feats[:0] instead of a map, in the order the
// record holds them (name order for what Marshal wrote), or in name order
// for writer schemas other than the current one. It builds no map and boxes
// no value: building the map and boxing the doubles were 30 % of the
// drift-aggregator's CPU in the load benchmark's profile. It accepts and
// refuses exactly what Unmarshal does, with the same errors, and the
// features are then those Unmarshal puts in the map.
func (d *Decoder) UnmarshalFeatures(b []byte, e *InferenceEvent, feats []Feature) ([]Feature, error) {
	feats = feats[:0]
	if e == nil {
		return feats, fmt.Errorf("%w: cannot unmarshal into %T", ErrUnsupportedType, e)
	}
	w, body, limits, err := d.locate(context.Background(), b, evInference)
	if err != nil {
		return feats, err
	}
	*e = InferenceEvent{}
	if w == w.event.cur {
		fd := getFastDecoder(w, body, limits)
		defer fastDecoders.Put(fd)
		fd.list, fd.listing = feats, true
		err := fd.finish(fd.inference(e))
		feats, fd.list, fd.listing = fd.list, nil, false
		return feats, err
	}
	// Other writers take the generic path; its map becomes the list.
	if err := decodeGeneric(w, body, e, limits); err != nil {
		return feats, err
	}
	names := make([]string, 0, len(e.Features))
	for k := range e.Features {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		f, ok := featureOf(k, e.Features[k])
		if !ok { // unreachable: resolution yields the five types only
			return feats[:0], fmt.Errorf("%w: feature %q has type %T", ErrUnsupportedType, k, e.Features[k])
		}
		feats = append(feats, f)
	}
	e.Features = nil
	return feats, nil
}

// featureList reads the feature map into d.list, as features reads it into
// a map.
func (d *fastDecoder) featureList() error {
	count, err := d.block(minFeatureEntry, "map entries")
	if err != nil {
		return err
	}
	for i := 0; count > 0; {
		for ; count > 0; count-- {
			k, err := d.key(i)
			if err != nil {
				return err
			}
			i++
			b, err := d.union(5)
			if err != nil {
				return err
			}
			f := Feature{Name: k, Type: FeatureType(b)}
			switch f.Type {
			case FeatureDouble:
				f.Double, err = d.double()
			case FeatureLong:
				f.Long, err = d.varint(10)
			case FeatureString:
				f.Str, err = d.value(i - 1)
			case FeatureBoolean:
				f.Bool, err = d.boolean()
			}
			if err != nil {
				return err
			}
			d.list = append(d.list, f)
		}
		if count, err = d.block(minFeatureEntry, "map entries"); err != nil {
			return err
		}
	}
	if k, dup := firstDuplicate(d.list); dup {
		d.duplicate(k)
	}
	return nil
}

// firstDuplicate returns the first name in fs that an earlier one repeats,
// the key goavro's map decoder reports. Marshal writes names in strictly
// increasing order, which rules duplicates out in one pass.
func firstDuplicate(fs []Feature) (string, bool) {
	sorted := true
	for i := 1; i < len(fs) && sorted; i++ {
		sorted = strings.Compare(fs[i-1].Name, fs[i].Name) < 0
	}
	if sorted {
		return "", false
	}
	if len(fs) <= 32 {
		for i := 1; i < len(fs); i++ {
			for j := range i {
				if fs[j].Name == fs[i].Name {
					return fs[i].Name, true
				}
			}
		}
		return "", false
	}
	seen := make(map[string]struct{}, len(fs))
	for i := range fs {
		if _, ok := seen[fs[i].Name]; ok {
			return fs[i].Name, true
		}
		seen[fs[i].Name] = struct{}{}
	}
	return "", false
}
