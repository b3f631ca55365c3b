# Deployment: cross-compiled release binaries, emulated arm unit tests, the
# systemd unit's checks and the .deb packages. See docs/deploy.md.

.PHONY: cross deb deploy-deps test-arm test-systemd test-deb test-relay

DIST := dist

# GOARCH, GOARM, name suffix: one static, stripped binary with the version
# and commit stamped in, built with -trimpath.
define xbuild
	CGO_ENABLED=0 GOOS=linux GOARCH=$(1) GOARM=$(2) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/camagent-linux-$(3) ./cmd/camagent

endef

cross:
	@mkdir -p $(DIST)
	$(call xbuild,arm,6,armv6)
	$(call xbuild,arm,7,armv7)
	$(call xbuild,arm64,,arm64)
	$(call xbuild,amd64,,amd64)
	@stat -c '%n %s bytes' $(DIST)/camagent-linux-*

deploy-deps:
	bash scripts/deploy-deps.sh

# Unit tests of every package but those in ARM_TEST_SKIP, under user-mode
# QEMU, for arm64 and armv6 (32-bit: 64-bit atomics must be aligned).
# Skipped: interop (builds the agent with the race detector, which 32-bit
# arm lacks, and drives host programs against it) and vmtest (boots QEMU
# system VMs with the kernel's vivid driver: V4L2 ioctls do not pass
# through user-mode QEMU).
ARM_TEST_SKIP := github.com/camagent/camagent/interop github.com/camagent/camagent/vmtest%
ARM_TEST_PKGS = $(filter-out $(ARM_TEST_SKIP),$(shell $(GO) list ./...))
test-arm: deploy-deps
	CGO_ENABLED=0 GOARCH=arm64 $(GO) test -p 1 -count=1 -timeout 10m -exec qemu-aarch64-static $(ARM_TEST_PKGS)
	CGO_ENABLED=0 GOARCH=arm GOARM=6 $(GO) test -p 1 -count=1 -timeout 10m -exec qemu-arm-static $(ARM_TEST_PKGS)

# systemd-analyze verify and security (exposure <= 2.0) on the unit, and
# the example environment file against `camagent -help`.
test-systemd: deploy-deps
	bash scripts/systemd-check.sh

# .deb packages (armhf = the armv6 binary, arm64, amd64) with nfpm.
NFPM := $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
# A Debian version from VERSION: v1.2.3-4-gabc -> 1.2.3+4+gabc; a bare
# commit abc1234 -> 0.0.0+gitabc1234.
DEB_VERSION = $(shell echo '$(VERSION)' | sed -E '/^v?[0-9]+\.[0-9]/!s/^/0.0.0+git/; s/^v//; s/-/+/g')
deb: cross
	rm -f $(DIST)/*.deb
	@set -e; for a in armhf:armv6 arm64:arm64 amd64:amd64; do \
		deb=$${a%%:*}; bin=$${a##*:}; \
		echo "nfpm: $$deb"; \
		mkdir -p $(DIST)/pkg; cp $(DIST)/camagent-linux-$$bin $(DIST)/pkg/camagent; \
		DEB_ARCH=$$deb VERSION='$(DEB_VERSION)' \
			$(NFPM) package --config packaging/nfpm.yaml --packager deb --target $(DIST)/; \
	done
	@ls -l $(DIST)/*.deb

# Installs the amd64 package with dpkg, checks it, purges it.
test-deb: deploy-deps deb
	bash scripts/deb-test.sh $(wildcard $(DIST)/camagent_*_amd64.deb)

# Three viewers through a GStreamer RTSP server relaying camagent (the
# docs/deploy.md configuration); built only with the tag camagent_relay.
test-relay: deploy-deps
	$(GO) test -count=1 -timeout 5m -tags camagent_relay -run '^TestRelay' ./interop

TEST_EXTRA += test-systemd test-arm test-deb test-relay
