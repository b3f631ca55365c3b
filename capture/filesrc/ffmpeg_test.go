package filesrc

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
	d, err := os.MkdirTemp("", "filesrc-test-")
	if err != nil {
		panic(err)
	}
	clipDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// needFFmpeg returns ffmpeg's path, failing under CI and skipping elsewhere
// when it is missing.
func needFFmpeg(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("ffmpeg is required under CI: %v", err)
		}
		tb.Skipf("ffmpeg not found: %v", err)
	}
	return p
}

// ffmpegArgs are the encodings the tests use: 2 s of testsrc2 at 25 fps.
var ffmpegArgs = map[string][]string{
	"x.264": {"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2",
		"-c:v", "libx264", "-profile:v", "baseline", "-g", "25", "-bsf:v", "h264_mp4toannexb", "-f", "h264"},
	// Four slices per picture, and main profile with B-frames: the splitter
	// must still find one access unit per picture.
	"slices.264": {"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2",
		"-c:v", "libx264", "-profile:v", "baseline", "-g", "25", "-x264-params", "slices=4:aud=1", "-f", "h264"},
	"bframes.264": {"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2",
		"-c:v", "libx264", "-profile:v", "main", "-g", "25", "-bf", "2", "-f", "h264"},
	"x.mjpeg": {"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2",
		"-c:v", "mjpeg", "-f", "mjpeg"},
}

// clip returns the path of the named clip, making it on first use.
func clip(tb testing.TB, name string) string {
	tb.Helper()
	ff := needFFmpeg(tb)
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
