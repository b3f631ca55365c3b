package openh264

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/camagent/camagent/capture"
)

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEncode encodes test pattern frames (mostly static, with a moving
// box and the frame number) and noisy frames (every macroblock changes) at
// the default bitrate. Metrics: frames per second, CPU per frame (all
// threads; the encoder is single-threaded), bytes per frame.
func BenchmarkEncode(b *testing.B) {
	for _, sz := range []struct{ w, h int }{{640, 480}, {1280, 720}} {
		for _, kind := range []string{"pattern-YU12", "pattern-YUYV", "noise-YU12"} {
			b.Run(fmt.Sprintf("%dx%d/%s", sz.w, sz.h, kind), func(b *testing.B) {
				var frames []*capture.Frame
				switch kind {
				case "pattern-YU12":
					frames = copyFrames(b, pattern(b, capture.YU12, sz.w, sz.h, 25), 50)
				case "pattern-YUYV":
					frames = copyFrames(b, pattern(b, capture.YUYV, sz.w, sz.h, 25), 50)
				default:
					frames = noisy(sz.w, sz.h, 50, 25)
				}
				enc := newEncoder(b, Config{Width: sz.w, Height: sz.h, FPS: 25})
				b.ReportAllocs()
				cpu0 := cpuTime()
				i, n := 0, 0
				for b.Loop() {
					// Timestamps keep advancing across loops of the clip.
					f := *frames[i%len(frames)]
					f.Timestamp = time.Duration(i) * 40 * time.Millisecond
					au, err := enc.Encode(&f)
					if err != nil {
						b.Fatal(err)
					}
					if au != nil {
						for _, nal := range au.NALUs {
							n += len(nal)
						}
					}
					i++
				}
				b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "fps")
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(i), "cpu-ms/frame")
				b.ReportMetric(float64(n)/float64(i), "B/frame")
			})
		}
	}
}
