//go:build !nochdb

package chdb

const nochdb = false
