package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kafkaScript starts and stops the real broker; the test runs in e2e/.
const kafkaScript = "../infra/scripts/kafka.sh"

// TestPipelineRealKafka runs the same pipeline and checks as TestPipeline on
// a one-node Apache Kafka broker (KRaft, 127.0.0.1) started by
// infra/scripts/kafka.sh, fresh for this test, so runs never share topics or
// consumer groups.
func TestPipelineRealKafka(t *testing.T) {
	needRealKafka(t, "the real-broker pipeline takes about a minute")
	_, brokers := startKafka(t)
	runPipeline(t, brokers)
}

// needRealKafka skips a real-broker test in -short mode (long says how
// long it takes) and without Java.
func needRealKafka(t *testing.T, long string) {
	t.Helper()
	if testing.Short() {
		t.Skip(long + "; run without -short")
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("the real-broker suite needs Java 17 or newer on the PATH (java not found); `make kafka` fetches the broker's jars")
	}
}

// startKafka starts a broker with its data in a temporary directory, stops
// it when the test ends, and returns the directory and its bootstrap address.
func startKafka(t *testing.T) (dir string, brokers []string) {
	t.Helper()
	dir = t.TempDir()
	// Registered after TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		if out, err := kafkaCmd(90*time.Second, "stop", dir); err != nil {
			t.Errorf("stopping the broker: %v\n%s", err, out)
		}
	})
	began := time.Now()
	brokers = kafkaStart(t, dir)
	t.Logf("Apache Kafka broker at %s, started in %s (log: %s)", brokers[0], time.Since(began).Round(100*time.Millisecond), filepath.Join(dir, "kafka.log"))
	return dir, brokers
}

// kafkaStart starts (or restarts) the broker of dir and returns its
// bootstrap address.
func kafkaStart(t *testing.T, dir string) []string {
	t.Helper()
	// Up to 60 s for the broker, plus a fetch of the jars when not cached.
	out, err := kafkaCmd(3*time.Minute, "start", dir)
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 3 {
		t.Skipf("the real-broker suite needs Java 17 or newer:\n%s", out)
	}
	if err != nil {
		t.Fatalf("starting the broker: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(string(b))
	if addr == "" {
		t.Fatalf("%s start left an empty bootstrap file", kafkaScript)
	}
	return []string{addr}
}

// kafkaCmd runs the script with a deadline. The broker's watchdog stops it
// if this test process dies before its cleanup runs.
func kafkaCmd(timeout time.Duration, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{kafkaScript}, args...)...)
	cmd.Env = append(os.Environ(), "DRIFTLINE_KAFKA_OWNER_PID="+strconv.Itoa(os.Getpid()))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// The script's children (the broker) hold no pipe of ours; WaitDelay
	// bounds the wait anyway.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.Bytes(), err
}
