// Command driftline runs Driftline embedded and operates its stores and
// topics: demo, dev, migrate, sql, view, baseline, drift, perf, adapt, deadletter,
// loadgen.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `driftline: watch machine-learning models in production

Usage:
  driftline demo     [--data DIR]   run the embedded stack with a synthetic model and print what it found
  driftline dev      [--data DIR]   run the embedded stack (in-process Kafka, embedded ClickHouse, all services) until Ctrl-C
  driftline migrate  --store DSN    apply the ClickHouse migrations
  driftline sql      [--data DIR | --store DSN] [--format table|json] QUERY
  driftline view     [--data DIR | --store DSN] --model ID --family drift|performance|shadow --from TIME --to TIME
                     [--span D [--every D]] [--window 5m] [--version V] [--variant V] [--segment S]
                     [--metric NAME] [--feature NAME] [--format table|json]
                                    metrics of any range merged from the stored states of its windows, no second pass
                                    over events
  driftline baseline --csv FILE --model ID [--version V] --brokers HOST:PORT
                                    build a reference profile from a training dataset and publish it
  driftline drift    --reference FILE --current FILE [--format table|json] [--columns a,b] [--categorical a,b]
                                    compare two datasets column by column and print the drift verdicts
  driftline perf     --predictions FILE [--format table|json] [--task auto|classification|regression] [--positive CLASS]
                                    performance metrics of labelled predictions, McNemar vs shadow_prediction (see docs/perf.md)
  driftline loadgen  --brokers HOST:PORT (--duration D | --events N) [--rate R] [--models N] [--features N] ...
                                    produce synthetic load and publish its reference profiles (see docs/load.md)
  driftline adapt    --source NAME [--config mappings.yaml] [--format F] [--framing F] [--input FILE]
                                    normalise records offline: canonical events on stdout, dead letters on stderr (JSON lines)
  driftline deadletter replay [--data DIR | --store DSN] --brokers HOST:PORT [--source S] [--class C]
                     [--since T] [--until T] [--id TOPIC/PARTITION/OFFSET] [--dry-run]
                                    re-send dead letters to their raw topic, e.g. after a mapping fix (see docs/adapter.md)

Stores: clickhouse://user:pass@host:9000/db (a ClickHouse server) or chdb:///path (embedded).
Run "driftline COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "driftline:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"demo": cmdDemo, "dev": cmdDev, "migrate": cmdMigrate, "sql": cmdSQL, "view": cmdView, "baseline": cmdBaseline,
		"drift": cmdDrift, "perf": cmdPerf, "adapt": cmdAdapt, "deadletter": cmdDeadLetter,
		"loadgen": cmdLoadgen,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprint(stdout, usage)
			return nil
		}
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd(ctx, args[1:], stdout, stderr)
}

// defaultData is where the embedded stack keeps its data.
const defaultData = ".driftline"

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("driftline "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseInterspersed parses fs's flags wherever they stand among args and
// returns the other arguments in order, so `driftline sql "SELECT 1"
// --format json` works as users type it. Only an argument naming one of
// fs's flags counts as a flag: "-1" or a "--" comment in an unquoted query
// stays part of it.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		for len(args) > 0 && !isFlag(fs, args[0]) {
			rest = append(rest, args[0])
			args = args[1:]
		}
	}
	return rest, nil
}

func isFlag(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if name == arg || len(arg)-len(name) > 2 || name == "" {
		return false
	}
	if i := strings.IndexByte(name, '='); i >= 0 {
		name = name[:i]
	}
	return fs.Lookup(name) != nil || name == "h" || name == "help"
}
