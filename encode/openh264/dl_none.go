//go:build !(openh264 && linux && (amd64 || arm64))

package openh264

import "errors"

const built = false

var errNoDL = errors.New("openh264: not built in")

func dlopen(string) (uintptr, error)         { return 0, errNoDL }
func dlsym(uintptr, string) (uintptr, error) { return 0, errNoDL }
func ccall(uintptr, *[3]uintptr) uintptr     { panic("openh264: no library in this build") }
