package openh264

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

var update = flag.Bool("update", false, "rewrite testdata/abi_lp64.txt from the C header (needs a C compiler and libopenh264-dev)")

const goldenABI = "testdata/abi_lp64.txt"

// abiStructs maps the C structure names to their Go mirrors.
var abiStructs = []struct {
	c string
	v any
}{
	{"SSliceArgument", sliceArgument{}},
	{"SSpatialLayerConfig", spatialLayerConfig{}},
	{"SEncParamExt", encParamExt{}},
	{"SLayerBSInfo", layerBSInfo{}},
	{"SFrameBSInfo", frameBSInfo{}},
	{"SSourcePicture", sourcePicture{}},
	{"SBitrateInfo", bitrateInfo{}},
	{"OpenH264Version", version{}},
	{"ISVCEncoderVtbl", encoderVtbl{}},
}

// abiConsts maps C constants to the Go ones.
var abiConsts = []struct {
	c string
	v int
}{
	{"CAMERA_VIDEO_REAL_TIME", cameraVideoRealTime},
	{"RC_BITRATE_MODE", rcBitrateMode},
	{"PRO_BASELINE", proBaseline},
	{"SM_SINGLE_SLICE", smSingleSlice},
	{"CONSTANT_ID", constantID},
	{"LOW_COMPLEXITY", lowComplexity},
	{"videoFormatI420", videoFormatI420},
	{"SPATIAL_LAYER_ALL", spatialLayerAll},
	{"WELS_LOG_QUIET", welsLogQuiet},
	{"videoFrameTypeInvalid", videoFrameTypeInvalid},
	{"videoFrameTypeIDR", videoFrameTypeIDR},
	{"videoFrameTypeI", videoFrameTypeI},
	{"videoFrameTypeP", videoFrameTypeP},
	{"videoFrameTypeSkip", videoFrameTypeSkip},
	{"ENCODER_OPTION_IDR_INTERVAL", encoderOptionIDRInterval},
	{"ENCODER_OPTION_FRAME_RATE", encoderOptionFrameRate},
	{"ENCODER_OPTION_BITRATE", encoderOptionBitrate},
	{"ENCODER_OPTION_MAX_BITRATE", encoderOptionMaxBitrate},
	{"ENCODER_OPTION_TRACE_LEVEL", encoderOptionTraceLevel},
	{"MAX_SPATIAL_LAYER_NUM", maxSpatialLayerNum},
	{"MAX_LAYER_NUM_OF_FRAME", maxLayerNumOfFrame},
	{"MAX_NAL_UNITS_IN_LAYER", maxNalUnitsInLayer},
	{"MAX_SLICES_NUM_TMP", maxSlicesNumTmp},
	{"UNSPECIFIED_BIT_RATE", unspecifiedBitRate},
	{"cmResultSuccess", cmResultSuccess},
	{"sizeof(ISVCEncoderVtbl)/sizeof(void*)", welsEncoderVtblSize},
}

// goABI lists every size, offset and constant as the Go side has them.
func goABI() string {
	var b strings.Builder
	for _, s := range abiStructs {
		t := reflect.TypeOf(s.v)
		fmt.Fprintf(&b, "sizeof(%s) %d\n", s.c, t.Size())
		for i := range t.NumField() {
			f := t.Field(i)
			fmt.Fprintf(&b, "offsetof(%s, %s) %d\n", s.c, f.Name, f.Offset)
		}
	}
	for _, c := range abiConsts {
		fmt.Fprintf(&b, "%s %d\n", c.c, c.v)
	}
	return b.String()
}

// cProgram prints the same list from the real header.
func cProgram() string {
	var b strings.Builder
	b.WriteString("#include <stdio.h>\n#include <stddef.h>\n#include <wels/codec_api.h>\nint main(void) {\n")
	for _, s := range abiStructs {
		t := reflect.TypeOf(s.v)
		fmt.Fprintf(&b, "\tprintf(\"sizeof(%s) %%zu\\n\", sizeof(%s));\n", s.c, s.c)
		for i := range t.NumField() {
			n := t.Field(i).Name
			fmt.Fprintf(&b, "\tprintf(\"offsetof(%s, %s) %%zu\\n\", offsetof(%s, %s));\n", s.c, n, s.c, n)
		}
	}
	for _, c := range abiConsts {
		fmt.Fprintf(&b, "\tprintf(\"%s %%d\\n\", (int)(%s));\n", c.c, c.c)
	}
	b.WriteString("\treturn 0;\n}\n")
	return b.String()
}

// cABI compiles and runs cProgram, or returns "" when there is no C
// compiler or no OpenH264 header.
func cABI(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		return ""
	}
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "abi.c"), filepath.Join(dir, "abi")
	if err := os.WriteFile(src, []byte(cProgram()), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(cc, "-x", "c", "-o", bin, src)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(stderr.String(), "codec_api.h") {
			return "" // libopenh264-dev is not installed
		}
		t.Fatalf("cc: %v\n%s", err, stderr.String())
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestABI checks the Go mirrors against the layout of the C header: the
// committed listing on every 64-bit GOARCH (this runs under user-mode QEMU
// for arm64 too), and the listing against the header itself where a C
// compiler and libopenh264-dev are installed (make test-openh264 installs
// them).
func TestABI(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the Go mirrors are for LP64 targets; this build cannot load OpenH264 (see doc.go)")
	}
	golden, err := os.ReadFile(goldenABI)
	if err != nil {
		t.Fatal(err)
	}
	if got := goABI(); got != string(golden) {
		t.Errorf("Go layout differs from %s:\n%s", goldenABI, diffLines(string(golden), got))
	}
	c := cABI(t)
	switch {
	case c == "" && os.Getenv("CI") == "true" && *update:
		t.Fatal("no C compiler or OpenH264 header")
	case c == "":
		t.Log("no C compiler or no libopenh264-dev header: checked against the committed listing only")
	case *update:
		if err := os.WriteFile(goldenABI, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	case c != string(golden):
		t.Errorf("the C header's layout differs from %s:\n%s", goldenABI, diffLines(string(golden), c))
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var a, c string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			c = g[i]
		}
		if a != c {
			fmt.Fprintf(&b, "want %q\n got %q\n", a, c)
		}
	}
	return b.String()
}
