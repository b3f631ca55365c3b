# The V4L2 M2M hardware encoder (encode/m2m) against a real kernel M2M
# driver: vicodec (FWHT, multiplanar=1), built out of tree for the VM's
# Debian kernel by scripts/vm/vicodec.sh (cached under .cache/vm/), in the
# QEMU VM of mk/vm.mk. amd64 only: the module is built on the host.

.PHONY: m2m-deps test-m2m

m2m-deps: vm-deps
	bash scripts/vm/vicodec.sh amd64 .cache/vm

test-m2m: m2m-deps
	CAMAGENT_VM_ARCH=amd64 $(GO) test -count=1 -timeout 15m -v -run '^TestVMM2M$$' ./vmtest

TEST_EXTRA += test-m2m
