package openh264

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/capture/testsrc"
	"github.com/camagent/camagent/encode"
)

// needLib skips when this build has no OpenH264 (make test-openh264 runs
// these tests with the openh264 tag), and when the library is missing
// outside CI; in CI a missing library fails.
func needLib(t testing.TB) {
	t.Helper()
	_, err := Load()
	switch {
	case err == nil:
	case errors.Is(err, ErrNotBuilt):
		t.Skip("built without the openh264 tag (make test-openh264 runs this)")
	case os.Getenv("CI") == "true":
		t.Fatal(err)
	default:
		t.Skip(err)
	}
}

func newEncoder(t testing.TB, cfg Config) *Encoder {
	t.Helper()
	needLib(t)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found", name)
		}
		t.Skipf("%s not found", name)
	}
	return p
}

// pattern returns a test pattern source whose clock never waits: frame n
// is stamped n/fps.
func pattern(t testing.TB, f capture.PixelFormat, w, h, fps int) *testsrc.Source {
	t.Helper()
	src, err := testsrc.New(testsrc.Config{
		Width: w, Height: h, FPS: fps, Format: f,
		Now:   func() time.Duration { return 0 },
		Sleep: func(context.Context, time.Duration) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// copyFrames takes n frames out of the source's ring.
func copyFrames(t testing.TB, src *testsrc.Source, n int) []*capture.Frame {
	t.Helper()
	out := make([]*capture.Frame, 0, n)
	for range n {
		f, err := src.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		m := capture.Mode{Format: f.Format, Width: f.Width, Height: f.Height}
		out = append(out, capture.NewFrame(bytes.Clone(f.Data), f.Timestamp, f.Sequence, m, nil))
		f.Release()
	}
	return out
}

// noisy returns YU12 frames of a moving gradient under pseudo-random
// noise, hard enough that the rate control works at its target.
func noisy(w, h, n, fps int) []*capture.Frame {
	out := make([]*capture.Frame, n)
	x := uint32(88172645)
	for i := range out {
		b := make([]byte, w*h*3/2)
		for k := range b {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			b[k] = byte(64 + (k%w+3*i)%w/4 + int(x%40))
		}
		m := capture.Mode{Format: capture.YU12, Width: w, Height: h}
		out[i] = capture.NewFrame(b, time.Duration(i)*time.Second/time.Duration(fps), uint32(i), m, nil)
	}
	return out
}

func appendAnnexB(dst []byte, au *encode.AccessUnit) []byte {
	for _, n := range au.NALUs {
		dst = append(dst, 0, 0, 0, 1)
		dst = append(dst, n...)
	}
	return dst
}

// decodeRaw decodes an Annex-B stream with ffmpeg into I420 frames,
// failing on any decoder complaint.
func decodeRaw(t testing.TB, annexB []byte) []byte {
	t.Helper()
	ff := tool(t, "ffmpeg")
	file := filepath.Join(t.TempDir(), "in.h264")
	if err := os.WriteFile(file, annexB, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ff, "-hide_banner", "-loglevel", "error", "-xerror", "-err_detect", "explode",
		"-f", "h264", "-i", file, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg: %v\n%s", err, stderr.String())
	}
	return out
}

// probe reports what ffprobe finds in an Annex-B stream: frames decoded,
// size and profile.
func probe(t testing.TB, annexB []byte) string {
	t.Helper()
	fp := tool(t, "ffprobe")
	file := filepath.Join(t.TempDir(), "in.h264")
	if err := os.WriteFile(file, annexB, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(fp, "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,profile,width,height,nb_read_frames",
		"-of", "default=noprint_wrappers=1", file).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	return string(bytes.TrimSpace(out))
}

func frameNumbers(t testing.TB, raw []byte, w, h int) []uint32 {
	t.Helper()
	size := w * h * 3 / 2
	var out []uint32
	for off := 0; off+size <= len(raw); off += size {
		n, err := testsrc.ReadFrameNumber(raw[off:off+w*h], w, w, h)
		if err != nil {
			t.Fatalf("decoded frame %d: %v", off/size, err)
		}
		out = append(out, n)
	}
	return out
}

func nalTypes(au *encode.AccessUnit) string {
	s := ""
	for _, n := range au.NALUs {
		s += fmt.Sprint(n[0]&0x1f, " ")
	}
	return s
}
