//go:build openh264 && linux && (amd64 || arm64)

package openh264

import "github.com/ebitengine/purego"

const built = true

func dlopen(name string) (uintptr, error) {
	return purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
}

func dlsym(h uintptr, name string) (uintptr, error) { return purego.Dlsym(h, name) }

// ccall calls the C function fn with the arguments in a (unused ones are
// 0, which C ignores). Pointers in a must point to memory the caller keeps
// alive (runtime.KeepAlive) until ccall returns; Go's heap does not move.
// Passing an existing array, rather than a fresh variadic list, keeps the
// call free of allocations.
func ccall(fn uintptr, a *[3]uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn, a[:]...)
	return r
}
