# The VM tests: a Debian kernel with the vivid virtual camera under QEMU
# (software emulation), the real camagent inside, ffmpeg and gortsplib on
# the host. scripts/vm/ fetches the kernel with apt-get download into
# .cache/vm/ (git-ignored) and builds the initramfs; vmtest/ drives it.

.PHONY: test-vm test-vm-arm64 vm-deps vm-deps-arm64

VM_TEST_FLAGS ?= -count=1 -timeout 15m -v -run '^TestVM$$'

vm-deps:
	bash scripts/vm/deps.sh amd64

vm-deps-arm64:
	bash scripts/vm/deps.sh arm64

test-vm: vm-deps
	CAMAGENT_VM_ARCH=amd64 $(GO) test $(VM_TEST_FLAGS) ./vmtest

test-vm-arm64: vm-deps-arm64
	CAMAGENT_VM_ARCH=arm64 $(GO) test $(VM_TEST_FLAGS) ./vmtest
# The arm64 run is the Raspberry Pi smoke test: the arm64 binary boots in an
# arm64 VM and streams vivid to the host.
TEST_EXTRA += test-vm test-vm-arm64
