package passthrough

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The clips are made by ffmpeg at test time, once per test binary.
var (
	clipDir  string
	clipMu   sync.Mutex
	clipMade = map[string]string{}
)

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "passthrough-test-")
	if err != nil {
		panic(err)
	}
	clipDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// needTool returns the path of an external program, failing under CI and
// skipping elsewhere when it is missing.
func needTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is required under CI: %v", name, err)
		}
		tb.Skipf("%s not found: %v", name, err)
	}
	return p
}

var lavfi = []string{"-f", "lavfi", "-i"}

// ffmpegArgs are the clips the tests use.
var ffmpegArgs = map[string][]string{
	// 2 s at 25 fps, GOP 25, with access unit delimiters; SPS and PPS
	// before each IDR.
	"x.264": append(lavfi, "testsrc2=size=320x240:rate=25", "-t", "2",
		"-c:v", "libx264", "-profile:v", "baseline", "-g", "25", "-x264-params", "aud=1",
		"-bsf:v", "h264_mp4toannexb", "-f", "h264"),
	"x.mjpeg": append(lavfi, "testsrc2=size=320x240:rate=25", "-t", "2",
		"-c:v", "mjpeg", "-f", "mjpeg"),
	// One 1080p IDR access unit, for benchmarks.
	"idr1080.264": append(lavfi, "testsrc2=size=1920x1080:rate=25", "-frames:v", "1",
		"-c:v", "libx264", "-profile:v", "high", "-bsf:v", "h264_mp4toannexb", "-f", "h264"),
	"1080.jpg": append(lavfi, "testsrc2=size=1920x1080:rate=25", "-frames:v", "1",
		"-c:v", "mjpeg", "-f", "mjpeg"),
}

// clip returns the path of the named clip, making it on first use.
func clip(tb testing.TB, name string) string {
	tb.Helper()
	ff := needTool(tb, "ffmpeg")
	clipMu.Lock()
	defer clipMu.Unlock()
	if p, ok := clipMade[name]; ok {
		return p
	}
	p := filepath.Join(clipDir, name)
	args := append([]string{"-nostdin", "-v", "error", "-y"}, ffmpegArgs[name]...)
	args = append(args, p)
	if out, err := exec.Command(ff, args...).CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
	clipMade[name] = p
	return p
}
