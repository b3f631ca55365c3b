package h264sw

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/camagent/camagent/capture"
)

// ffmpegPath finds ffmpeg, failing in CI and skipping elsewhere.
func ffmpegPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg not found")
		}
		t.Skip("ffmpeg not found")
	}
	return p
}

// decode runs the Annex-B stream through ffmpeg and returns the raw I420
// output.
func decode(t *testing.T, annexB []byte) []byte {
	t.Helper()
	ff := ffmpegPath(t)
	file := filepath.Join(t.TempDir(), "in.h264")
	if err := os.WriteFile(file, annexB, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-xerror", "-err_detect", "explode",
		"-f", "h264", "-i", file, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("ffmpeg complained:\n%s", stderr.String())
	}
	return out
}

func appendAnnexB(dst []byte, nalus [][]byte) []byte {
	for _, n := range nalus {
		dst = append(dst, 0, 0, 0, 1)
		dst = append(dst, n...)
	}
	return dst
}

func TestDecodeBitExact(t *testing.T) {
	cases := []struct {
		name   string
		w, h   int
		format capture.PixelFormat
		frames int
		gop    int
		image  func(w, h, i int) []byte
	}{
		{"328x248 I420 cropped", 328, 248, capture.YU12, 60, 0, testImage},
		{"640x480 I420", 640, 480, capture.YU12, 60, 0, testImage},
		{"328x248 NV12", 328, 248, capture.NV12, 20, 0, testImage},
		{"328x248 YUYV", 328, 248, capture.YUYV, 20, 0, testImage},
		{"50x34 I420 gop 7", 50, 34, capture.YU12, 30, 7, testImage},
		{"16x16 I420", 16, 16, capture.YU12, 10, 0, flatImage16},
		{"640x480 flat", 640, 480, capture.YU12, 30, 0, flatImage},
		{"192x128 blocky", 192, 128, capture.YU12, 20, 0, blockyImage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc, err := New(Config{Width: c.w, Height: c.h, FPS: 30, GOP: c.gop})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			var stream, want []byte
			force := c.frames / 2
			var keyframes []int
			for i := 0; i < c.frames; i++ {
				img := c.image(c.w, c.h, i)
				want = append(want, clampZeros(img)...)
				data := img
				switch c.format {
				case capture.NV12:
					data = toNV12(img, c.w, c.h)
				case capture.YUYV:
					data = toYUYV(img, c.w, c.h)
				}
				if i == force {
					enc.ForceKeyframe()
				}
				au, err := enc.Encode(testFrame(data, c.format, c.w, c.h, i))
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				checkAU(t, au.NALUs, au.Keyframe)
				if au.Sequence != uint32(i) || au.Timestamp != testFrame(nil, 0, 0, 0, i).Timestamp {
					t.Fatalf("frame %d: sequence/timestamp not copied", i)
				}
				if au.Keyframe {
					keyframes = append(keyframes, i)
				}
				stream = appendAnnexB(stream, au.NALUs)
			}
			gop := c.gop
			if gop == 0 {
				gop = 60
			}
			var wantKeys []int
			since := 0
			for i := 0; i < c.frames; i++ {
				if i == 0 || i == force || since >= gop {
					wantKeys = append(wantKeys, i)
					since = 0
				}
				since++
			}
			if !slices.Equal(keyframes, wantKeys) {
				t.Errorf("keyframes at %v, want %v", keyframes, wantKeys)
			}
			got := decode(t, stream)
			fs := c.w*c.h + 2*(c.w/2)*(c.h/2)
			if len(got) != len(want) {
				t.Fatalf("decoded %d bytes (%d frames), want %d frames", len(got), len(got)/fs, c.frames)
			}
			for i := 0; i < c.frames; i++ {
				if g, w := got[i*fs:(i+1)*fs], want[i*fs:(i+1)*fs]; !bytes.Equal(g, w) {
					t.Fatalf("frame %d differs at byte %d", i, firstDiff(g, w))
				}
			}
			st := enc.Stats()
			t.Logf("%d frames, %d bytes (%.0f B/frame), keyframes %v, MBs skip %d intra16 %d intra4 %d pcm %d (chroma DC %d)",
				c.frames, len(stream), float64(len(stream))/float64(c.frames), keyframes, st.Skip, st.Intra16, st.Intra4, st.PCM, st.ChromaDC)
		})
	}
}

func flatImage16(w, h, i int) []byte {
	b := flatImage(64, 64, 0)[:w*h]
	b = append(b[:w*h:w*h], make([]byte, w*h/2)...)
	for j := w * h; j < len(b); j++ {
		b[j] = byte(100 + i)
	}
	return b
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// checkAU verifies NAL unit types: SPS, PPS, IDR on keyframes, one non-IDR
// slice otherwise.
func checkAU(t *testing.T, nalus [][]byte, key bool) {
	t.Helper()
	var types []byte
	for _, n := range nalus {
		types = append(types, n[0]&0x1f)
	}
	want := []byte{1}
	if key {
		want = []byte{7, 8, 5}
	}
	if !bytes.Equal(types, want) {
		t.Fatalf("NAL types %v, want %v", types, want)
	}
}

func TestSPS(t *testing.T) {
	cases := []struct {
		w, h, fps int
		level     uint8
		crop      bool
	}{
		{16, 16, 30, 10, false},
		{176, 144, 15, 10, false},
		{328, 248, 30, 13, true},
		{320, 240, 30, 13, false},
		{320, 240, 60, 21, false},
		{640, 480, 30, 30, false},
		{1280, 720, 30, 31, false},
		{1920, 1080, 30, 40, true},
		{1920, 1080, 60, 42, true},
		{4096, 16, 1, 40, false},
		{4096, 4096, 1000, 0, false}, // too big for any level
		{4094, 2160, 30, 52, true},
		{4094, 2160, 25, 51, true},
	}
	for _, c := range cases {
		enc, err := New(Config{Width: c.w, Height: c.h, FPS: c.fps})
		if c.level == 0 {
			if !errors.Is(err, ErrConfig) {
				t.Errorf("%dx%d@%d: err %v, want ErrConfig", c.w, c.h, c.fps, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		spsNAL, ppsNAL := enc.ParameterSets()
		var sps mch264.SPS
		if err := sps.Unmarshal(spsNAL); err != nil {
			t.Fatalf("%dx%d: %v", c.w, c.h, err)
		}
		if sps.Width() != c.w || sps.Height() != c.h {
			t.Errorf("%dx%d: SPS says %dx%d", c.w, c.h, sps.Width(), sps.Height())
		}
		if sps.ProfileIdc != 66 || !sps.ConstraintSet0Flag || !sps.ConstraintSet1Flag || sps.ConstraintSet3Flag {
			t.Errorf("%dx%d: profile %d flags %v %v %v, want Constrained Baseline", c.w, c.h,
				sps.ProfileIdc, sps.ConstraintSet0Flag, sps.ConstraintSet1Flag, sps.ConstraintSet3Flag)
		}
		if sps.LevelIdc != c.level || enc.Level() != c.level {
			t.Errorf("%dx%d@%d: level %d, want %d", c.w, c.h, c.fps, sps.LevelIdc, c.level)
		}
		if (sps.FrameCropping != nil) != c.crop {
			t.Errorf("%dx%d: cropping %v, want %v", c.w, c.h, sps.FrameCropping != nil, c.crop)
		}
		if sps.PicOrderCntType != 2 || sps.MaxNumRefFrames != 1 || !sps.FrameMbsOnlyFlag {
			t.Errorf("%dx%d: poc type %d refs %d", c.w, c.h, sps.PicOrderCntType, sps.MaxNumRefFrames)
		}
		if sps.FPS() != float64(c.fps) {
			t.Errorf("%dx%d: fps %v, want %d", c.w, c.h, sps.FPS(), c.fps)
		}
		if len(ppsNAL) == 0 || ppsNAL[0] != 0x68 {
			t.Errorf("PPS header %x", ppsNAL)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Width: 0, Height: 240, FPS: 30}, "width 0"},
		{Config{Width: 321, Height: 240, FPS: 30}, "width 321"},
		{Config{Width: 320, Height: 14, FPS: 30}, "height 14"},
		{Config{Width: 320, Height: 4098, FPS: 30}, "height 4098"},
		{Config{Width: 320, Height: 241, FPS: 30}, "height 241"},
		{Config{Width: 320, Height: 240, FPS: 0}, "fps 0"},
		{Config{Width: 320, Height: 240, FPS: 30, GOP: -1}, "gop -1"},
	}
	for _, c := range cases {
		_, err := New(c.cfg)
		if !errors.Is(err, ErrConfig) || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("New(%+v) = %v, want ErrConfig naming %q", c.cfg, err, c.want)
		}
	}
}

func TestFrameErrors(t *testing.T) {
	enc, err := New(Config{Width: 64, Height: 48, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	good := testImage(64, 48, 0)
	cases := []struct {
		name string
		f    *capture.Frame
	}{
		{"nil", nil},
		{"size", testFrame(testImage(32, 48, 0), capture.YU12, 32, 48, 0)},
		{"format", testFrame(good, capture.MJPG, 64, 48, 0)},
		{"short", testFrame(good[:len(good)-1], capture.YU12, 64, 48, 0)},
		{"short yuyv", testFrame(good, capture.YUYV, 64, 48, 0)},
	}
	for _, c := range cases {
		if _, err := enc.Encode(c.f); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: err %v, want ErrFrame", c.name, err)
		}
	}
	// The encoder still works, and the first good frame is an IDR.
	au, err := enc.Encode(testFrame(good, capture.YU12, 64, 48, 0))
	if err != nil || !au.Keyframe {
		t.Fatalf("good frame: %v keyframe=%v", err, au != nil && au.Keyframe)
	}
	enc.Close()
	if _, err := enc.Encode(testFrame(good, capture.YU12, 64, 48, 0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestNoAllocs(t *testing.T) {
	const w, h = 328, 248
	enc, err := New(Config{Width: w, Height: h, FPS: 30, GOP: 4})
	if err != nil {
		t.Fatal(err)
	}
	frames := []*capture.Frame{
		testFrame(testImage(w, h, 0), capture.YU12, w, h, 0),
		testFrame(toNV12(testImage(w, h, 1), w, h), capture.NV12, w, h, 1),
		testFrame(toYUYV(testImage(w, h, 2), w, h), capture.YUYV, w, h, 2),
	}
	i := 0
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := enc.Encode(frames[i%len(frames)]); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per frame, want 0", allocs)
	}
}
