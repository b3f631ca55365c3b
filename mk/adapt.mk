# Rate adaptation: the controller's table tests run with `make unit`; this
# is the end-to-end proof on a shaped link (network namespaces, a 2 Mbit/s
# tbf bottleneck, GStreamer over UDP and ffmpeg over TCP, adaptation on and
# off). It needs root. See docs/adaptation.md.

.PHONY: test-adapt adapt-deps

adapt-deps:
	bash scripts/adapt/deps.sh

# ADAPT_RESULTS names a file to write the results table to.
test-adapt: adapt-deps
	CAMAGENT_ADAPT_E2E=1 $(GO) test -count=1 -v -timeout 15m -run 'TestShapedLink|TestPLI' ./adapttest/

TEST_EXTRA += test-adapt
