package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type Common struct {
	Service string `yaml:"service_name" help:"name in logs and metrics"`
}

type testConfig struct {
	Common `yaml:",inline"`
	Kafka  struct {
		Brokers  []string `yaml:"brokers" help:"Kafka seed brokers"`
		Password string   `yaml:"password" secret:"true"`
		TLS      bool     `yaml:"tls"`
	} `yaml:"kafka"`
	ClickHouse struct {
		DSN string `yaml:"dsn" secret:"true" help:"ClickHouse DSN"`
	} `yaml:"clickhouse"`
	Workers       int           `yaml:"workers"`
	MaxBytes      int64         `yaml:"max_bytes"`
	Ratio         float64       `yaml:"ratio"`
	FlushInterval time.Duration `yaml:"flush_interval"`
	Log           struct {
		Level string `yaml:"level"`
	} `yaml:"log"`
	Internal   string `yaml:"-"`
	unexported string
}

func defaults() testConfig {
	var c testConfig
	c.Service = "trigger"
	c.Kafka.Brokers = []string{"localhost:9092"}
	c.Workers = 2
	c.MaxBytes = 1 << 20
	c.Ratio = 0.5
	c.FlushInterval = time.Second
	c.Log.Level = "info"
	c.unexported = "not a key" // skipped like yaml.v3 does; Redacted must not show it
	return c
}

// env returns a lookup over a fixed map, so tests never touch the process
// environment.
func env(vars map[string]string) Option {
	return WithLookupEnv(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
}

func newFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	const file = `
service_name: from-file
kafka:
  brokers: [file-1:9092, file-2:9092]
  tls: true
workers: 4
flush_interval: 5s
log:
  level: warn
`
	tests := []struct {
		name   string
		file   bool // pass the file with -config
		envs   map[string]string
		args   []string
		opts   []Option
		mutate func(c *testConfig) // applied to defaults() to give the expected result
	}{
		{name: "defaults", mutate: func(c *testConfig) {}},
		{name: "file over defaults", file: true, mutate: func(c *testConfig) {
			c.Service, c.Kafka.Brokers, c.Kafka.TLS = "from-file", []string{"file-1:9092", "file-2:9092"}, true
			c.Workers, c.FlushInterval, c.Log.Level = 4, 5*time.Second, "warn"
		}},
		{name: "env over file", file: true,
			envs: map[string]string{"DRIFTLINE_WORKERS": "8", "DRIFTLINE_LOG_LEVEL": "debug", "DRIFTLINE_KAFKA_BROKERS": "env-1:9092, env-2:9092,,"},
			mutate: func(c *testConfig) {
				c.Service, c.Kafka.Brokers, c.Kafka.TLS = "from-file", []string{"env-1:9092", "env-2:9092"}, true
				c.Workers, c.FlushInterval, c.Log.Level = 8, 5*time.Second, "debug"
			}},
		{name: "flags over env", file: true,
			envs: map[string]string{"DRIFTLINE_WORKERS": "8", "DRIFTLINE_FLUSH_INTERVAL": "1m"},
			args: []string{"-workers=16", "-kafka.tls=false", "-kafka.brokers", "flag:9092"},
			mutate: func(c *testConfig) {
				c.Service, c.Kafka.Brokers, c.Kafka.TLS = "from-file", []string{"flag:9092"}, false
				c.Workers, c.FlushInterval, c.Log.Level = 16, time.Minute, "warn"
			}},
		{name: "file named by the environment",
			envs:   map[string]string{"DRIFTLINE_CONFIG": "FILE"},
			mutate: func(c *testConfig) { *c = fileResult() }},
		{name: "-config over DRIFTLINE_CONFIG", file: true,
			envs:   map[string]string{"DRIFTLINE_CONFIG": "/nonexistent.yaml"},
			mutate: func(c *testConfig) { *c = fileResult() }},
		{name: "an empty variable overrides",
			envs:   map[string]string{"DRIFTLINE_SERVICE_NAME": "", "DRIFTLINE_KAFKA_BROKERS": ""},
			mutate: func(c *testConfig) { c.Service, c.Kafka.Brokers = "", nil }},
		{name: "bool flag without value", args: []string{"-kafka.tls"},
			mutate: func(c *testConfig) { c.Kafka.TLS = true }},
		{name: "last repeated flag wins", args: []string{"-workers=3", "-ratio=0.25", "-workers=5"},
			mutate: func(c *testConfig) { c.Workers, c.Ratio = 5, 0.25 }},
		{name: "int64, float and duration from the environment",
			envs:   map[string]string{"DRIFTLINE_MAX_BYTES": "9000000000", "DRIFTLINE_RATIO": "1e-3", "DRIFTLINE_FLUSH_INTERVAL": "250ms"},
			mutate: func(c *testConfig) { c.MaxBytes, c.Ratio, c.FlushInterval = 9000000000, 0.001, 250*time.Millisecond }},
		{name: "custom prefix", opts: []Option{WithEnvPrefix("DL_")},
			envs:   map[string]string{"DL_WORKERS": "7", "DRIFTLINE_WORKERS": "9"},
			mutate: func(c *testConfig) { c.Workers = 7 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "driftline.yaml", file)
			args := tt.args
			if tt.file {
				args = append([]string{"-config", path}, args...)
			}
			envs := map[string]string{}
			for k, v := range tt.envs {
				if v == "FILE" {
					v = path
				}
				envs[k] = v
			}
			got := defaults()
			if err := Load(&got, newFlags(), args, append(tt.opts, env(envs))...); err != nil {
				t.Fatal(err)
			}
			want := defaults()
			tt.mutate(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func fileResult() testConfig {
	c := defaults()
	c.Service, c.Kafka.Brokers, c.Kafka.TLS = "from-file", []string{"file-1:9092", "file-2:9092"}, true
	c.Workers, c.FlushInterval, c.Log.Level = 4, 5*time.Second, "warn"
	return c
}

func TestFileForms(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       func(c *testConfig)
	}{
		{"list as a comma-separated string", "kafka:\n  brokers: a:1, b:2\n",
			func(c *testConfig) { c.Kafka.Brokers = []string{"a:1", "b:2"} }},
		{"empty list", "kafka:\n  brokers: []\n",
			func(c *testConfig) { c.Kafka.Brokers = []string{} }},
		{"a key without value keeps its default", "workers:\nkafka:\n",
			func(c *testConfig) {}},
		{"empty file", "", func(c *testConfig) {}},
		{"comment-only file", "# nothing yet\n", func(c *testConfig) {}},
		{"aliases", "log: {level: &l error}\nservice_name: *l\n",
			func(c *testConfig) { c.Log.Level, c.Service = "error", "error" }},
		{"quoted numbers", "workers: \"6\"\nratio: '0.75'\n",
			func(c *testConfig) { c.Workers, c.Ratio = 6, 0.75 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "c.yaml", tt.yaml)
			got := defaults()
			if err := Load(&got, newFlags(), []string{"-config=" + path}, env(nil)); err != nil {
				t.Fatal(err)
			}
			want := defaults()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	pw := writeFile(t, dir, "pw", "s3cret\n")
	dsn := writeFile(t, dir, "dsn", "clickhouse://u:p@h:9440/db?secure=true\r\n")
	got := defaults()
	err := Load(&got, newFlags(), nil, env(map[string]string{
		"DRIFTLINE_KAFKA_PASSWORD_FILE": pw,
		"DRIFTLINE_CLICKHOUSE_DSN_FILE": dsn,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Kafka.Password != "s3cret" || got.ClickHouse.DSN != "clickhouse://u:p@h:9440/db?secure=true" {
		t.Errorf("secrets = %q, %q", got.Kafka.Password, got.ClickHouse.DSN)
	}

	// A _FILE variable is only read for secrets.
	got = defaults()
	if err := Load(&got, newFlags(), nil, env(map[string]string{"DRIFTLINE_LOG_LEVEL_FILE": pw})); err != nil {
		t.Fatal(err)
	}
	if got.Log.Level != "info" {
		t.Errorf("log.level = %q, read from a _FILE variable", got.Log.Level)
	}
}

func TestRedacted(t *testing.T) {
	c := defaults()
	c.Kafka.Password = "s3cret"
	want := map[string]any{
		"service_name":   "trigger",
		"kafka.brokers":  []string{"localhost:9092"},
		"kafka.password": "***",
		"kafka.tls":      false,
		"clickhouse.dsn": "", // unset secrets show as unset
		"workers":        2,
		"max_bytes":      int64(1 << 20),
		"ratio":          0.5,
		"flush_interval": "1s",
		"log.level":      "info",
	}
	if got := Redacted(&c); !reflect.DeepEqual(got, want) {
		t.Errorf("Redacted:\n got %v\nwant %v", got, want)
	}
	if got := Redacted(c); got != nil {
		t.Errorf("Redacted(non-pointer) = %v, want nil", got)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		file string // written to $DIR/c.yaml and passed with -config when set
		envs map[string]string
		args []string
		want string
	}{
		{name: "unknown key", file: "kafka:\n  brokers: [a]\n  brokerz: [b]\n",
			want: `config: $DIR/c.yaml:3: unknown key "kafka.brokerz"`},
		{name: "unknown top-level key", file: "wokers: 3\n",
			want: `config: $DIR/c.yaml:1: unknown key "wokers"`},
		{name: "bad int in file", file: "workers: many\n",
			want: `config: $DIR/c.yaml:1: workers: invalid value "many": want an integer`},
		{name: "float for an int", file: "workers: 2.5\n",
			want: `config: $DIR/c.yaml:1: workers: invalid value "2.5": want an integer`},
		{name: "bad duration in file", file: "flush_interval: 5\n",
			want: `config: $DIR/c.yaml:1: flush_interval: invalid value "5": want a duration such as 500ms, 30s or 24h`},
		{name: "mapping for a scalar", file: "workers: {n: 1}\n",
			want: `config: $DIR/c.yaml:1: workers: want an integer`},
		{name: "scalar for a section", file: "kafka: localhost\n",
			want: `config: $DIR/c.yaml:1: kafka: want a mapping`},
		{name: "list of lists", file: "kafka:\n  brokers: [[a]]\n",
			want: `config: $DIR/c.yaml:2: kafka.brokers: want a list of strings`},
		{name: "top level not a mapping", file: "- a\n",
			want: `config: $DIR/c.yaml:1: the top level: want a mapping`},
		{name: "duplicate key", file: "workers: 1\nworkers: 2\n",
			want: `config: $DIR/c.yaml:2: workers: already set on line 1`},
		{name: "bad YAML", file: "kafka: [a\n",
			want: `config: $DIR/c.yaml:1: did not find expected ',' or ']'`},
		{name: "missing config file", args: []string{"-config", "$DIR/none.yaml"},
			want: `config: reading config file: open $DIR/none.yaml: no such file or directory`},
		{name: "bad int in env", envs: map[string]string{"DRIFTLINE_WORKERS": "many"},
			want: `config: workers: invalid value "many" from env DRIFTLINE_WORKERS: want an integer`},
		{name: "bad bool in env", envs: map[string]string{"DRIFTLINE_KAFKA_TLS": "yes please"},
			want: `config: kafka.tls: invalid value "yes please" from env DRIFTLINE_KAFKA_TLS: want true or false`},
		{name: "int64 overflow in env", envs: map[string]string{"DRIFTLINE_MAX_BYTES": "99999999999999999999"},
			want: `config: max_bytes: invalid value "99999999999999999999" from env DRIFTLINE_MAX_BYTES: want an integer`},
		{name: "bad duration in env", envs: map[string]string{"DRIFTLINE_FLUSH_INTERVAL": "soon"},
			want: `config: flush_interval: invalid value "soon" from env DRIFTLINE_FLUSH_INTERVAL: want a duration such as 500ms, 30s or 24h`},
		{name: "secret and secret file", envs: map[string]string{"DRIFTLINE_KAFKA_PASSWORD": "a", "DRIFTLINE_KAFKA_PASSWORD_FILE": "$DIR/pw"},
			want: `config: kafka.password: both DRIFTLINE_KAFKA_PASSWORD and DRIFTLINE_KAFKA_PASSWORD_FILE are set`},
		{name: "missing secret file", envs: map[string]string{"DRIFTLINE_KAFKA_PASSWORD_FILE": "$DIR/pw"},
			want: `config: kafka.password: env DRIFTLINE_KAFKA_PASSWORD_FILE: open $DIR/pw: no such file or directory`},
		{name: "bad flag", args: []string{"-workers=many"},
			want: `invalid value "many" for flag -workers: want an integer`},
		{name: "bad float flag", args: []string{"-ratio", "half"},
			want: `invalid value "half" for flag -ratio: want a number`},
		{name: "unknown flag", args: []string{"-wokers=2"},
			want: `flag provided but not defined: -wokers`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			expand := func(s string) string { return strings.ReplaceAll(s, "$DIR", dir) }
			var args []string
			if tt.file != "" {
				args = append(args, "-config", writeFile(t, dir, "c.yaml", tt.file))
			}
			for _, a := range tt.args {
				args = append(args, expand(a))
			}
			envs := map[string]string{}
			for k, v := range tt.envs {
				envs[k] = expand(v)
			}
			c := defaults()
			err := Load(&c, newFlags(), args, env(envs))
			if err == nil {
				t.Fatalf("Load succeeded, want %q", expand(tt.want))
			}
			if got := strings.ReplaceAll(err.Error(), dir, "$DIR"); got != tt.want {
				t.Errorf("error\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// Errors about secrets name the key and the source, never the value.
func TestSecretValuesStayOutOfErrors(t *testing.T) {
	type withSecret struct {
		Token string `yaml:"token" secret:"true"`
		Extra struct {
			N int `yaml:"n"`
		} `yaml:"extra"`
	}
	path := writeFile(t, t.TempDir(), "c.yaml", "token: {hunter2: x}\n")
	var c withSecret
	err := Load(&c, newFlags(), []string{"-config", path}, env(nil))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
}

func TestBadDestination(t *testing.T) {
	var n int
	tests := []struct {
		name string
		dst  any
		want string
	}{
		{"nil", nil, "config: destination must be a non-nil pointer to a struct, not <nil>"},
		{"struct value", testConfig{}, "config: destination must be a non-nil pointer to a struct, not config.testConfig"},
		{"pointer to int", &n, "config: destination must be a non-nil pointer to a struct, not *int"},
		{"unsupported type", &struct {
			Labels map[string]string `yaml:"labels"`
		}{}, "config: field Labels (key labels): unsupported type map[string]string"},
		{"secret int", &struct {
			PIN int `yaml:"pin" secret:"true"`
		}{}, "config: field PIN (key pin): only string fields can be secret"},
		{"variables collide", &struct {
			A struct {
				B string `yaml:"b"`
			} `yaml:"a"`
			AB string `yaml:"a_b"`
		}{}, "config: keys a.b and a_b both map to the variable DRIFTLINE_A_B"},
		{"reserved key", &struct {
			Config string `yaml:"config"`
		}{}, `config: field Config: key "config" is reserved for the config file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Load(tt.dst, newFlags(), nil, env(nil))
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestFlagAlreadyDefined(t *testing.T) {
	fs := newFlags()
	fs.Int("workers", 1, "")
	c := defaults()
	err := Load(&c, fs, nil, env(nil))
	if err == nil || err.Error() != "config: flag -workers is already defined" {
		t.Errorf("err = %v", err)
	}
}

func TestCallerFlagsAndArgs(t *testing.T) {
	fs := newFlags()
	once := fs.Bool("once", false, "run one batch and exit")
	c := defaults()
	if err := Load(&c, fs, []string{"-once", "-workers=3", "migrate", "up"}, env(nil)); err != nil {
		t.Fatal(err)
	}
	if !*once || c.Workers != 3 || !reflect.DeepEqual(fs.Args(), []string{"migrate", "up"}) {
		t.Errorf("once=%v workers=%d args=%q", *once, c.Workers, fs.Args())
	}
}

func TestHelp(t *testing.T) {
	fs := flag.NewFlagSet("retrain-trigger", flag.ContinueOnError)
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.Bool("once", false, "run one batch and exit")
	c := defaults()
	c.ClickHouse.DSN = "chdb:///var/lib/driftline" // a secret default is not printed either
	err := Load(&c, fs, []string{"-help"}, env(nil))
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
	const want = `Usage of retrain-trigger:

Every key is read from the YAML file (-config or DRIFTLINE_CONFIG), then from its
environment variable, then from its flag; the last one set wins.

  -config file (env DRIFTLINE_CONFIG)
    	YAML configuration file
  -service_name string (env DRIFTLINE_SERVICE_NAME)
    	name in logs and metrics (default "trigger")
  -kafka.brokers list (env DRIFTLINE_KAFKA_BROKERS)
    	Kafka seed brokers (default "localhost:9092")
  -kafka.password string (env DRIFTLINE_KAFKA_PASSWORD or DRIFTLINE_KAFKA_PASSWORD_FILE)
  -kafka.tls bool (env DRIFTLINE_KAFKA_TLS)
  -clickhouse.dsn string (env DRIFTLINE_CLICKHOUSE_DSN or DRIFTLINE_CLICKHOUSE_DSN_FILE)
    	ClickHouse DSN (default "***")
  -workers int (env DRIFTLINE_WORKERS)
    	(default 2)
  -max_bytes int (env DRIFTLINE_MAX_BYTES)
    	(default 1048576)
  -ratio float64 (env DRIFTLINE_RATIO)
    	(default 0.5)
  -flush_interval duration (env DRIFTLINE_FLUSH_INTERVAL)
    	(default 1s)
  -log.level string (env DRIFTLINE_LOG_LEVEL)
    	(default "info")
  -once
    	run one batch and exit
`
	if out.String() != want {
		t.Errorf("help:\n%s\nwant:\n%s", out.String(), want)
	}
}
