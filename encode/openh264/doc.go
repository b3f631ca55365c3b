// Package openh264 encodes raw frames to H.264 with Cisco's OpenH264
// library (Debian's libopenh264-7, libopenh264.so.7), loaded at run time.
//
// The library is loaded with github.com/ebitengine/purego, which calls C
// without cgo. That has two costs, so it is behind the openh264 build tag:
//
//   - a binary that imports purego is dynamically linked (it needs the
//     system's ld.so and libc to dlopen anything), while the default
//     camagent binary is static and runs in the test VMs' bare initramfs;
//   - purego needs cgo on 32-bit ARM (GOARM=6/7), so it cannot cross-compile
//     there with CGO_ENABLED=0.
//
// So `go build -tags openh264` on linux/amd64 and linux/arm64 (the boards
// with no hardware H.264 encoder: Raspberry Pi 5, x86 boxes) gives an
// encoder that works when the library is installed; every other build gets
// one whose New and Load report ErrNotBuilt. The Pi Zero to 4 (32-bit or
// 64-bit) have the V4L2 M2M hardware encoder instead.
package openh264
