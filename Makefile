# camagent: build, run and test. `make run` and `make test` need only Go and
# make on a fresh Debian/Ubuntu machine; `make test` installs the real RTSP
# clients it drives (ffmpeg, GStreamer) with apt-get when they are missing.

GO       ?= go
BIN      := bin/camagent
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 15s
SMOKE_FUZZTIME ?= 5s

# make run listens on an unprivileged port; the service uses 554.
export CAMAGENT_RTSP_ADDR ?= :8554

.PHONY: all build run test test-deps vet unit fuzz interop bench clean

# Feature areas add their own targets in mk/*.mk, and append the ones
# `make test` must run to TEST_EXTRA.
TEST_EXTRA :=
-include mk/*.mk

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/camagent

run: build
	./$(BIN)

test: test-deps vet unit interop fuzz $(TEST_EXTRA)

test-deps:
	bash scripts/test-deps.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: the files above need formatting"; exit 1; }

# Unit tests of every package but interop, with the race detector.
unit:
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v /interop$$)

# Interop tests: real clients (ffmpeg, ffprobe, GStreamer, the gortsplib
# client) against the real binary, built with the race detector. They run on
# their own, after the unit tests, so the clients are not starved of CPU, and
# with -parallel 12 so ten viewers can watch at once.
interop:
	$(GO) test -race -count=1 -parallel 12 -timeout 20m ./interop

# Fuzz smoke runs: each target for a short while. The wire parsers that face
# the network get FUZZTIME, the rest SMOKE_FUZZTIME.
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzReadRequest$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./stream/rtsp
	$(GO) test -run='^$$' -fuzz='^FuzzParseTransport$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./stream/rtsp
	$(GO) test -run='^$$' -fuzz='^FuzzParseAuthorization$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./stream/rtsp
	$(GO) test -run='^$$' -fuzz='^FuzzReceive$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./stream/report
	@for t in $$(scripts/fuzz-targets.sh); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($$pkg, $(SMOKE_FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(SMOKE_FUZZTIME) -fuzzminimizetime=2s $$pkg || exit 1; \
	done

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

clean:
	rm -rf bin dist
