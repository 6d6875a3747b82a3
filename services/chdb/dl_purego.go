//go:build (darwin || linux) && !android && !nochdb

package chdb

import "github.com/ebitengine/purego"

func available() error { return nil }

func dlopen(path string) (uintptr, error) {
	// RTLD_LOCAL keeps the engine's thousands of symbols (its own allocator,
	// its own C++ runtime) out of the global namespace.
	return purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
}

func dlsym(h uintptr, name string) (uintptr, error) { return purego.Dlsym(h, name) }

func dlclose(h uintptr) { _ = purego.Dlclose(h) }

// register makes fn, a pointer to a func variable, call the C function at
// addr.
func register(fn any, addr uintptr) { purego.RegisterFunc(fn, addr) }
