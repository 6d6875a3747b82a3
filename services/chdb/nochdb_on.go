//go:build nochdb

package chdb

const nochdb = true
