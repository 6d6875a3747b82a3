// Package config loads a Driftline service's configuration: one YAML file,
// with every key overridable by an environment variable and by a flag, as
// DESIGN.md's operating rules require.
//
// A service describes its configuration as a struct whose fields carry yaml
// tags; nested structs become dotted keys. The key kafka.brokers is the YAML
//
//	kafka:
//	  brokers: [broker-1:9092, broker-2:9092]
//
// the environment variable DRIFTLINE_KAFKA_BROKERS=broker-1:9092,broker-2:9092
// and the flag -kafka.brokers=broker-1:9092,broker-2:9092.
//
//	type Config struct {
//		Kafka struct {
//			Brokers  []string `yaml:"brokers" help:"Kafka seed brokers"`
//			Password string   `yaml:"password" secret:"true"`
//		} `yaml:"kafka"`
//		FlushInterval time.Duration `yaml:"flush_interval"`
//	}
//
//	cfg := Config{FlushInterval: time.Second} // the defaults
//	err := config.Load(&cfg, flag.CommandLine, os.Args[1:])
//	if errors.Is(err, flag.ErrHelp) { os.Exit(0) }
//	logger.Info("config", "config", config.Redacted(&cfg))
//
// Precedence, lowest first: the values dst holds when Load is called (the
// defaults), the YAML file named by -config or DRIFTLINE_CONFIG, environment
// variables, flags. Supported field types are string, bool, int, int64,
// float64, time.Duration (Go syntax: 90s, 24h) and []string (a YAML list, or
// comma-separated in the environment, in flags and as a YAML string). A YAML
// key with no value keeps its default; an environment variable that is set,
// even to "", overrides. Unknown YAML keys are errors naming the file, line
// and key, so a typo never silently falls back to a default.
//
// Secrets are string fields tagged secret:"true". Besides its variable, such
// a key can be read from the file named by <VAR>_FILE (Docker and Kubernetes
// secrets; one trailing newline is dropped), never both. Redacted prints a
// configuration with secrets as "***", and errors never quote a secret's
// value. Flags are visible to every process on the machine, so secrets
// belong in the environment, a _FILE or the config file, not in flags.
//
// -help prints every key with its flag, environment variable, default and the
// help tag's text.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultEnvPrefix starts every environment variable name.
const DefaultEnvPrefix = "DRIFTLINE_"

// configKey is the flag, and with the prefix the variable, naming the file.
const configKey = "config"

// maxFileSize bounds the config file and secret files read.
const maxFileSize = 1 << 20

// Option adjusts Load.
type Option func(*options)

type options struct {
	prefix string
	lookup func(string) (string, bool)
}

// WithEnvPrefix sets the environment variables' prefix (default DRIFTLINE_).
func WithEnvPrefix(prefix string) Option {
	return func(o *options) { o.prefix = prefix }
}

// WithLookupEnv replaces os.LookupEnv, for tests and embedding.
func WithLookupEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.lookup = lookup }
}

var durationType = reflect.TypeFor[time.Duration]()

// field is one configuration key: a leaf of dst's struct tree.
type field struct {
	key    string
	env    string
	help   string
	secret bool
	v      reflect.Value // settable
	def    string        // the default, formatted for -help
}

// section is a struct in dst: the YAML mapping its keys live in.
type section struct {
	key      string
	children map[string]*section
	leaf     *field
}

// Load fills dst, a pointer to a struct, from its current values (the
// defaults), the config file, the environment and the flags in args, which
// it parses with fs (a new ContinueOnError set when nil). It registers one
// flag per key and -config on fs; fs.Args() holds the remaining arguments
// afterwards. With -help or -h it prints every key and returns flag.ErrHelp.
func Load(dst any, fs *flag.FlagSet, args []string, opts ...Option) error {
	o := options{prefix: DefaultEnvPrefix, lookup: os.LookupEnv}
	for _, opt := range opts {
		opt(&o)
	}
	root, fields, err := describe(dst, o.prefix)
	if err != nil {
		return err
	}
	if fs == nil {
		fs = flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	}

	// Flags are recorded while parsing and applied last, because they
	// override the file, which is only known once -config has been parsed.
	flagged := map[string]string{}
	var set []*field // in the order their flags were first given
	for _, f := range fields {
		if fs.Lookup(f.key) != nil {
			return fmt.Errorf("config: flag -%s is already defined", f.key)
		}
		fs.Var(&flagValue{f: f, record: func(s string) {
			if _, ok := flagged[f.key]; !ok {
				set = append(set, f)
			}
			flagged[f.key] = s
		}}, f.key, f.help)
	}
	if fs.Lookup(configKey) != nil {
		return fmt.Errorf("config: flag -%s is already defined", configKey)
	}
	configFlag := fs.String(configKey, "", "YAML configuration `file`")
	fs.Usage = func() { usage(fs, fields, o.prefix) }
	if err := fs.Parse(args); err != nil {
		return err // flag.ErrHelp, or a bad flag the flag package reported
	}

	path := *configFlag
	if path == "" {
		path, _ = o.lookup(o.prefix + strings.ToUpper(configKey))
	}
	if path != "" {
		if err := loadFile(root, path); err != nil {
			return err
		}
	}

	for _, f := range fields {
		if err := applyEnv(f, o.lookup); err != nil {
			return err
		}
	}

	for _, f := range set {
		if err := assign(f, flagged[f.key]); err != nil {
			// Set validated the value already; this cannot happen.
			return fmt.Errorf("config: %s: flag -%s: %s", f.key, f.key, err)
		}
	}
	return nil
}

// Redacted returns dst's configuration as dotted key → value, for logging:
// secrets that are set read "***", durations are strings. It returns nil if
// dst is not a pointer to a struct Load accepts.
func Redacted(dst any) map[string]any {
	_, fields, err := describe(dst, DefaultEnvPrefix)
	if err != nil {
		return nil
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		switch v := f.v.Interface().(type) {
		case string:
			if f.secret && v != "" {
				out[f.key] = "***"
			} else {
				out[f.key] = v
			}
		case time.Duration:
			out[f.key] = v.String()
		case []string:
			out[f.key] = slices.Clone(v)
		default:
			out[f.key] = v
		}
	}
	return out
}

// describe walks dst's struct type into its key tree and its fields.
func describe(dst any, prefix string) (*section, []*field, error) {
	rv := reflect.ValueOf(dst)
	if !rv.IsValid() || rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, nil, fmt.Errorf("config: destination must be a non-nil pointer to a struct, not %T", dst)
	}
	root := &section{children: map[string]*section{}}
	var fields []*field
	envs := map[string]string{strings.ToUpper(prefix + configKey): configKey}
	if err := walk(rv.Elem(), root, "", prefix, &fields, envs); err != nil {
		return nil, nil, err
	}
	return root, fields, nil
}

func walk(v reflect.Value, sec *section, prefix, envPrefix string, fields *[]*field, envs map[string]string) error {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, flags, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if flags == "inline" && sf.Type.Kind() == reflect.Struct {
			if err := walk(fv, sec, prefix, envPrefix, fields, envs); err != nil {
				return err
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name) // yaml.v3's default
		}
		key := prefix + name
		if key == configKey {
			return fmt.Errorf("config: field %s: key %q is reserved for the config file", sf.Name, key)
		}
		if _, dup := sec.children[name]; dup {
			return fmt.Errorf("config: field %s: key %q defined twice", sf.Name, key)
		}
		if sf.Type.Kind() == reflect.Struct && sf.Type != durationType {
			child := &section{key: key, children: map[string]*section{}}
			sec.children[name] = child
			if err := walk(fv, child, key+".", envPrefix, fields, envs); err != nil {
				return err
			}
			continue
		}
		if !supported(sf.Type) {
			return fmt.Errorf("config: field %s (key %s): unsupported type %s", sf.Name, key, sf.Type)
		}
		f := &field{
			key:    key,
			env:    envName(envPrefix, key),
			help:   sf.Tag.Get("help"),
			secret: sf.Tag.Get("secret") == "true",
			v:      fv,
		}
		if f.secret && sf.Type.Kind() != reflect.String {
			return fmt.Errorf("config: field %s (key %s): only string fields can be secret", sf.Name, key)
		}
		if other, dup := envs[f.env]; dup {
			return fmt.Errorf("config: keys %s and %s both map to the variable %s", other, key, f.env)
		}
		envs[f.env] = key
		f.def = format(f)
		sec.children[name] = &section{key: key, leaf: f}
		*fields = append(*fields, f)
	}
	return nil
}

func supported(t reflect.Type) bool {
	switch {
	case t == durationType:
		return true
	case t.Kind() == reflect.Slice:
		return t.Elem().Kind() == reflect.String
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		return true
	}
	return false
}

// envName maps a dotted key to its variable: kafka.brokers → DRIFTLINE_KAFKA_BROKERS.
func envName(prefix, key string) string {
	return prefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// parse converts s to a value of t, with an error that says what was wanted
// and never quotes s (it may be a secret).
func parse(t reflect.Type, s string) (reflect.Value, error) {
	switch {
	case t == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return reflect.Value{}, errors.New("want a duration such as 500ms, 30s or 24h")
		}
		return reflect.ValueOf(d), nil
	case t.Kind() == reflect.Slice:
		var list []string
		for _, e := range strings.Split(s, ",") {
			if e = strings.TrimSpace(e); e != "" {
				list = append(list, e)
			}
		}
		return reflect.ValueOf(list).Convert(t), nil
	}
	switch t.Kind() {
	case reflect.String:
		return reflect.ValueOf(s).Convert(t), nil
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return reflect.Value{}, errors.New("want true or false")
		}
		return reflect.ValueOf(b).Convert(t), nil
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(s, 10, t.Bits())
		if err != nil {
			return reflect.Value{}, errors.New("want an integer")
		}
		return reflect.ValueOf(i).Convert(t), nil
	case reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return reflect.Value{}, errors.New("want a number")
		}
		return reflect.ValueOf(x).Convert(t), nil
	}
	return reflect.Value{}, fmt.Errorf("unsupported type %s", t)
}

func assign(f *field, s string) error {
	v, err := parse(f.v.Type(), s)
	if err != nil {
		return err
	}
	f.v.Set(v)
	return nil
}

// quote shows a bad value in an error, unless it belongs to a secret.
func quote(f *field, s string) string {
	if f.secret {
		return `"***"`
	}
	return strconv.Quote(s)
}

func applyEnv(f *field, lookup func(string) (string, bool)) error {
	val, ok := lookup(f.env)
	source := "env " + f.env
	if f.secret {
		if path, fromFile := lookup(f.env + "_FILE"); fromFile {
			if ok {
				return fmt.Errorf("config: %s: both %s and %s_FILE are set", f.key, f.env, f.env)
			}
			data, err := readLimited(path)
			if err != nil {
				return fmt.Errorf("config: %s: env %s_FILE: %w", f.key, f.env, err)
			}
			val, ok = strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r"), true
			source = "file " + path + " (env " + f.env + "_FILE)"
		}
	}
	if !ok {
		return nil
	}
	if err := assign(f, val); err != nil {
		return fmt.Errorf("config: %s: invalid value %s from %s: %s", f.key, quote(f, val), source, err)
	}
	return nil
}

func readLimited(path string) ([]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxFileSize)
	}
	return data, nil
}

func loadFile(root *section, path string) error {
	data, err := readLimited(path)
	if err != nil {
		return fmt.Errorf("config: reading config file: %w", err)
	}
	doc, err := parseYAML(data)
	if err != nil {
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			return fmt.Errorf("config: %s:%s: %s", path, m[1], m[2])
		}
		return fmt.Errorf("config: %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc == nil {
		return nil
	}
	return applyYAML(path, root, doc)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML returns the root node of data's single document, or nil.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	// A malformed file must give an error, not take the service down.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, nil
	}
	return doc.Content[0], nil
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func applyYAML(path string, sec *section, n *yaml.Node) error {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		where := "the top level"
		if sec.key != "" {
			where = sec.key
		}
		return fmt.Errorf("config: %s:%d: %s: want a mapping", path, n.Line, where)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if sec.key != "" {
			key = sec.key + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			return fmt.Errorf("config: %s:%d: %s: already set on line %d", path, k.Line, key, first)
		}
		seen[k.Value] = k.Line
		child := sec.children[k.Value]
		if child == nil {
			return fmt.Errorf("config: %s:%d: unknown key %q", path, k.Line, key)
		}
		if child.leaf == nil {
			if err := applyYAML(path, child, v); err != nil {
				return err
			}
			continue
		}
		if err := setFromYAML(child.leaf, deref(v)); err != nil {
			return fmt.Errorf("config: %s:%d: %s: %s", path, k.Line, key, err)
		}
	}
	return nil
}

func setFromYAML(f *field, v *yaml.Node) error {
	if isNull(v) {
		return nil
	}
	isList := f.v.Kind() == reflect.Slice
	if isList && v.Kind == yaml.SequenceNode {
		list := make([]string, 0, len(v.Content))
		for _, e := range v.Content {
			if e = deref(e); e.Kind != yaml.ScalarNode {
				return errors.New("want a list of strings")
			}
			list = append(list, e.Value)
		}
		f.v.Set(reflect.ValueOf(list).Convert(f.v.Type()))
		return nil
	}
	if v.Kind != yaml.ScalarNode {
		return fmt.Errorf("want %s", describeType(f.v.Type()))
	}
	if err := assign(f, v.Value); err != nil {
		return fmt.Errorf("invalid value %s: %s", quote(f, v.Value), err)
	}
	return nil
}

func describeType(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.Slice:
		return "a list of strings"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return "an integer"
	case t.Kind() == reflect.Float64:
		return "a number"
	}
	return "a string"
}

// format renders a field's current value for -help; "" for a zero value.
func format(f *field) string {
	if f.v.IsZero() {
		return ""
	}
	switch v := f.v.Interface().(type) {
	case string:
		if f.secret && v != "" {
			return "***"
		}
		return v
	case []string:
		return strings.Join(v, ",")
	default:
		return fmt.Sprint(v)
	}
}

// flagValue validates a flag when it is parsed and records it, to be applied
// after the file and the environment.
type flagValue struct {
	f      *field
	record func(string)
}

func (v *flagValue) String() string {
	if v == nil || v.f == nil {
		return ""
	}
	return v.f.def
}

func (v *flagValue) Set(s string) error {
	if _, err := parse(v.f.v.Type(), s); err != nil {
		return err
	}
	v.record(s)
	return nil
}

// IsBoolFlag lets -flag stand for -flag=true on bool keys.
func (v *flagValue) IsBoolFlag() bool { return v != nil && v.f != nil && v.f.v.Kind() == reflect.Bool }

func usage(fs *flag.FlagSet, fields []*field, prefix string) {
	w := fs.Output()
	name := fs.Name()
	if name == "" {
		name = "this command"
	}
	fmt.Fprintf(w, "Usage of %s:\n\n", name)
	fmt.Fprintf(w, "Every key is read from the YAML file (-config or %s%s), then from its\n", prefix, strings.ToUpper(configKey))
	fmt.Fprintf(w, "environment variable, then from its flag; the last one set wins.\n\n")
	fmt.Fprintf(w, "  -%s file (env %s%s)\n    \tYAML configuration file\n", configKey, prefix, strings.ToUpper(configKey))
	ours := map[string]bool{configKey: true}
	for _, f := range fields {
		ours[f.key] = true
		env := f.env
		if f.secret {
			env += " or " + f.env + "_FILE"
		}
		fmt.Fprintf(w, "  -%s %s (env %s)\n", f.key, typeName(f.v.Type()), env)
		var line []string
		if f.help != "" {
			line = append(line, f.help)
		}
		if f.def != "" {
			if k := f.v.Kind(); k == reflect.String || k == reflect.Slice {
				line = append(line, fmt.Sprintf("(default %q)", f.def))
			} else {
				line = append(line, fmt.Sprintf("(default %s)", f.def))
			}
		}
		if len(line) > 0 {
			fmt.Fprintf(w, "    \t%s\n", strings.Join(line, " "))
		}
	}
	// Flags the caller defined on the same set.
	fs.VisitAll(func(fl *flag.Flag) {
		if ours[fl.Name] {
			return
		}
		fmt.Fprintf(w, "  -%s\n    \t%s", fl.Name, fl.Usage)
		if fl.DefValue != "" && fl.DefValue != "false" && fl.DefValue != "0" {
			fmt.Fprintf(w, " (default %s)", fl.DefValue)
		}
		fmt.Fprintln(w)
	})
}

func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Slice:
		return "list"
	case t.Kind() == reflect.Int64:
		return "int"
	}
	return t.Kind().String()
}
