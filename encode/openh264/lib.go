package openh264

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Library is the soname loaded, from Debian's package Package.
const (
	Library = "libopenh264.so.7"
	Package = "libopenh264-7"
)

// Errors from Load and New.
var (
	// ErrNotBuilt: this binary was built without the openh264 tag, or for
	// a GOARCH it does not support (see the package documentation).
	ErrNotBuilt = errors.New("openh264: this camagent was built without OpenH264 support (build with -tags openh264, linux/amd64 or linux/arm64)")
	// ErrNoLibrary: the shared library could not be loaded.
	ErrNoLibrary = errors.New("openh264: " + Library + " not found: install it with apt-get install " + Package)
)

// lib holds the library's entry points.
type lib struct {
	create, destroy, versionEx uintptr
	version                    string
}

var (
	loadOnce sync.Once
	loaded   *lib
	loadErr  error
)

// Load loads the library once per process and reports its version, such
// as "2.3.1". The error wraps ErrNotBuilt or ErrNoLibrary and says what to
// do.
func Load() (string, error) {
	l, err := load()
	if err != nil {
		return "", err
	}
	return l.version, nil
}

func load() (*lib, error) {
	loadOnce.Do(func() { loaded, loadErr = loadLib(Library) })
	return loaded, loadErr
}

func loadLib(name string) (*lib, error) {
	if !built {
		return nil, ErrNotBuilt
	}
	h, err := dlopen(name)
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", ErrNoLibrary, err)
	}
	var l lib
	for _, s := range []struct {
		name string
		p    *uintptr
	}{
		{"WelsCreateSVCEncoder", &l.create},
		{"WelsDestroySVCEncoder", &l.destroy},
		{"WelsGetCodecVersionEx", &l.versionEx},
	} {
		if *s.p, err = dlsym(h, s.name); err != nil {
			return nil, fmt.Errorf("openh264: %s has no %s, not the OpenH264 2.x API: %w", name, s.name, err)
		}
	}
	v := new(version)
	ccall(l.versionEx, &[3]uintptr{uintptr(unsafe.Pointer(v))})
	runtime.KeepAlive(v)
	if v.uMajor != 2 {
		return nil, fmt.Errorf("openh264: %s is version %d.%d.%d; want 2.x", name, v.uMajor, v.uMinor, v.uRevision)
	}
	l.version = fmt.Sprintf("%d.%d.%d", v.uMajor, v.uMinor, v.uRevision)
	return &l, nil
}
