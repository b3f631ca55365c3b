# Encoders. OpenH264 is loaded at run time through purego, which makes the
# binary dynamically linked, so it is behind the openh264 build tag (see
# encode/openh264/doc.go): `make build-openh264` builds an agent with it,
# `make test-openh264` runs the encoder tests with it against the real
# library (installed by scripts/openh264-deps.sh when missing).

.PHONY: openh264-deps test-openh264 build-openh264 bench-encoders

OPENH264_PKGS := ./encode/openh264 ./encode/choose

openh264-deps:
	bash scripts/openh264-deps.sh

test-openh264: openh264-deps
	$(GO) test -race -count=1 -tags openh264 $(OPENH264_PKGS)
	$(GO) test -count=1 -tags openh264 -run '^TestOpenH264Agent$$' ./interop

build-openh264:
	CGO_ENABLED=0 $(GO) build -trimpath -tags openh264 -ldflags '$(LDFLAGS)' -o bin/camagent-openh264 ./cmd/camagent

# Encoder benchmarks: frames/s, allocations and CPU per frame, and the
# ffmpeg MJPEG comparison (docs/benchmarks.md).
bench-encoders: openh264-deps
	$(GO) test -tags openh264 -run '^$$' -bench . -benchmem ./encode/...

TEST_EXTRA += test-openh264

# The OpenH264 tests for arm64 against Debian's arm64 library under
# user-mode QEMU (not part of make test: it downloads the arm64 packages).
.PHONY: test-openh264-arm64
test-openh264-arm64:
	bash scripts/openh264-arm64.sh
