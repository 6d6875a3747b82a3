//go:build !((darwin || linux) && !android) || nochdb

package chdb

import (
	"errors"
	"fmt"
	"runtime"
)

// chDB is built for Linux and macOS only; elsewhere, and in binaries built
// with -tags nochdb, the package compiles without purego, so that every
// Driftline binary does, and Open explains.
func available() error {
	if nochdb {
		return errors.New("chdb: this binary was built with -tags nochdb; use a clickhouse:// store")
	}
	return fmt.Errorf("chdb: chDB is not available on %s; use a clickhouse:// store", runtime.GOOS)
}

func dlopen(string) (uintptr, error) { return 0, available() }

func dlsym(uintptr, string) (uintptr, error) { return 0, fmt.Errorf("no chDB on %s", runtime.GOOS) }

func dlclose(uintptr) {}

func register(any, uintptr) {}
