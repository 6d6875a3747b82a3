//go:build !linux || !(amd64 || arm64)

package chdb

import "testing"

func assertGoSignalHandlers(*testing.T) {}
