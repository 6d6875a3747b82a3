//go:build !unix

package chdb

func lockHolder(string) string { return "" }
