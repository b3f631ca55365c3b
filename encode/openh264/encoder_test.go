package openh264

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

// Test pattern frames in each raw format go through OpenH264 and come back
// from ffmpeg: every frame decodes, in order (the barcode in each picture
// carries its number), and ffprobe sees Constrained Baseline at the size.
func TestDecodeTestPattern(t *testing.T) {
	const w, h, n = 320, 240, 40
	for _, f := range []capture.PixelFormat{capture.YU12, capture.NV12, capture.YUYV} {
		t.Run(f.String(), func(t *testing.T) {
			enc := newEncoder(t, Config{Width: w, Height: h, FPS: 25, GOP: 25})
			frames := copyFrames(t, pattern(t, f, w, h, 25), n)
			var stream []byte
			for i, fr := range frames {
				au, err := enc.Encode(fr)
				if err != nil {
					t.Fatal(err)
				}
				if au == nil {
					t.Fatalf("frame %d: no access unit", i)
				}
				if au.Timestamp != fr.Timestamp || au.Sequence != fr.Sequence {
					t.Fatalf("frame %d: timestamp %v seq %d, want %v %d", i, au.Timestamp, au.Sequence, fr.Timestamp, fr.Sequence)
				}
				if key := i%25 == 0; au.Keyframe != key {
					t.Fatalf("frame %d: keyframe %v, want %v (NAL types %s)", i, au.Keyframe, key, nalTypes(au))
				}
				if au.Keyframe && (au.NALUs[0][0]&0x1f != 7 || au.NALUs[1][0]&0x1f != 8) {
					t.Fatalf("frame %d: IDR without SPS and PPS first (NAL types %s)", i, nalTypes(au))
				}
				stream = appendAnnexB(stream, au)
			}
			nums := frameNumbers(t, decodeRaw(t, stream), w, h)
			if len(nums) != n {
				t.Fatalf("decoded %d frames, want %d", len(nums), n)
			}
			for i := 1; i < n; i++ {
				if nums[i] != nums[0]+uint32(i) {
					t.Fatalf("decoded frame numbers %v are not consecutive", nums)
				}
			}
			got := probe(t, stream)
			for _, want := range []string{"codec_name=h264", "profile=Constrained Baseline", "width=320", "height=240", fmt.Sprintf("nb_read_frames=%d", n)} {
				if !strings.Contains(got, want) {
					t.Fatalf("ffprobe says\n%s\nwant %s", got, want)
				}
			}
		})
	}
}

// The parameter sets from New are the ones in the stream.
func TestParameterSets(t *testing.T) {
	enc := newEncoder(t, Config{Width: 640, Height: 480, FPS: 25})
	sps, pps := enc.ParameterSets()
	if len(sps) < 4 || sps[0]&0x1f != 7 || len(pps) < 2 || pps[0]&0x1f != 8 {
		t.Fatalf("sps %x pps %x", sps, pps)
	}
	if sps[1] != 66 || sps[2]&0x40 == 0 {
		t.Fatalf("profile_idc %d constraints %#x: want Constrained Baseline (66, constraint_set1)", sps[1], sps[2])
	}
	au, err := enc.Encode(noisy(640, 480, 1, 25)[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(au.NALUs[0]) != string(sps) || string(au.NALUs[1]) != string(pps) {
		t.Fatal("the IDR's SPS/PPS differ from ParameterSets")
	}
}

// A bitrate change mid-stream shows in the bytes produced: a window after
// the change against one before.
func TestBitrateChange(t *testing.T) {
	const w, h, fps = 320, 240, 25
	enc := newEncoder(t, Config{Width: w, Height: h, FPS: fps, Bitrate: 1_200_000, GOP: 1000})
	frames := noisy(w, h, 150, fps)
	var stream []byte
	bytesIn := func(from, to int) (n int) {
		for i := from; i < to; i++ {
			if i == 75 {
				if err := enc.SetBitrate(300_000); err != nil {
					t.Fatal(err)
				}
			}
			au, err := enc.Encode(frames[i])
			if err != nil {
				t.Fatal(err)
			}
			if au == nil {
				t.Fatalf("frame %d skipped", i)
			}
			for _, nal := range au.NALUs {
				n += len(nal)
			}
			stream = appendAnnexB(stream, au)
		}
		return n
	}
	bytesIn(0, 25) // the rate control settles
	before := bytesIn(25, 75) * 8 * fps / 50
	bytesIn(75, 100)
	after := bytesIn(100, 150) * 8 * fps / 50
	t.Logf("measured %d bit/s at a 1.2 Mbit/s target, %d bit/s at 300 kbit/s", before, after)
	if after*2 > before {
		t.Fatalf("bitrate %d -> %d bit/s: the change to a quarter did not halve it", before, after)
	}
	if after > 450_000 || before < 600_000 {
		t.Fatalf("bitrate %d -> %d bit/s, far from the targets 1.2M and 300k", before, after)
	}
	if got := probe(t, stream); !strings.Contains(got, "nb_read_frames=150") {
		t.Fatalf("ffprobe: %s", got)
	}
}

// ForceKeyframe makes the very next frame an IDR (with SPS and PPS), and
// only that one.
func TestForceKeyframe(t *testing.T) {
	const w, h = 320, 240
	enc := newEncoder(t, Config{Width: w, Height: h, FPS: 25, GOP: 1000})
	frames := copyFrames(t, pattern(t, capture.YU12, w, h, 25), 40)
	force := map[int]bool{10: true, 11: true, 23: true, 39: true}
	var stream []byte
	for i, fr := range frames {
		if force[i] {
			enc.ForceKeyframe()
		}
		au, err := enc.Encode(fr)
		if err != nil {
			t.Fatal(err)
		}
		if want := i == 0 || force[i]; au.Keyframe != want {
			t.Fatalf("frame %d: keyframe %v, want %v (NAL types %s)", i, au.Keyframe, want, nalTypes(au))
		}
		if au.Keyframe && au.NALUs[len(au.NALUs)-1][0]&0x1f != 5 {
			t.Fatalf("frame %d: keyframe without IDR slice (NAL types %s)", i, nalTypes(au))
		}
		stream = appendAnnexB(stream, au)
	}
	if n := len(frameNumbers(t, decodeRaw(t, stream), w, h)); n != 40 {
		t.Fatalf("decoded %d of 40 frames", n)
	}
	if s := enc.Stats(); s.IDRs != 5 {
		t.Fatalf("stats %+v, want 5 IDRs", s)
	}
}

// SetFramerate drops frames before the library sees them, so the stream
// still decodes, with the kept frames only; the rate control gets the
// new rate too, so frames get bigger.
func TestFramerateChange(t *testing.T) {
	const w, h, fps = 320, 240, 25
	enc := newEncoder(t, Config{Width: w, Height: h, FPS: fps, Bitrate: 500_000, GOP: 1000})
	frames := noisy(w, h, 200, fps)
	var stream []byte
	kept, perFrame := [2]int{}, [2]int{}
	for i, fr := range frames {
		if i == 100 {
			if err := enc.SetFramerate(5); err != nil {
				t.Fatal(err)
			}
		}
		au, err := enc.Encode(fr)
		if err != nil {
			t.Fatal(err)
		}
		if au == nil {
			continue
		}
		half := i / 100
		kept[half]++
		if i%100 >= 50 {
			for _, n := range au.NALUs {
				perFrame[half] += len(n)
			}
		}
		stream = appendAnnexB(stream, au)
	}
	if kept[0] != 100 || kept[1] < 19 || kept[1] > 21 {
		t.Fatalf("kept %v frames of 100+100 at 25 then 5 fps", kept)
	}
	avg0, avg1 := perFrame[0]/50, perFrame[1]/max(1, kept[1]/2)
	t.Logf("bytes per frame at 25 fps: %d, at 5 fps: %d", avg0, avg1)
	if avg1 < 3*avg0 {
		t.Fatalf("frames at 5 fps (%d B) are not bigger than at 25 fps (%d B): the rate control did not get the new rate", avg1, avg0)
	}
	if got := probe(t, stream); !strings.Contains(got, fmt.Sprintf("nb_read_frames=%d", kept[0]+kept[1])) {
		t.Fatalf("ffprobe: %s", got)
	}
	if s := enc.Stats(); s.Dropped != uint64(100-kept[1]) {
		t.Fatalf("stats %+v", s)
	}
}

func TestKnobs(t *testing.T) {
	enc := newEncoder(t, Config{Width: 64, Height: 64, FPS: 30})
	if k := enc.Knobs(); k != encode.KnobBitrate|encode.KnobFramerate|encode.KnobKeyframe {
		t.Fatalf("knobs %v", k)
	}
	if err := enc.SetQuality(50); !errors.Is(err, encode.ErrNoKnob) {
		t.Errorf("SetQuality = %v", err)
	}
	if err := enc.SetBitrate(MinBitrate - 1); !errors.Is(err, ErrConfig) {
		t.Errorf("SetBitrate(too low) = %v", err)
	}
	if err := enc.SetFramerate(0); !errors.Is(err, encode.ErrFramerate) {
		t.Errorf("SetFramerate(0) = %v", err)
	}
}

func TestFrameErrors(t *testing.T) {
	enc := newEncoder(t, Config{Width: 64, Height: 64, FPS: 30})
	m := capture.Mode{Format: capture.YU12, Width: 64, Height: 64}
	for name, f := range map[string]*capture.Frame{
		"nil":    nil,
		"short":  capture.NewFrame(make([]byte, 100), 0, 0, m, nil),
		"size":   capture.NewFrame(make([]byte, 64*64*2), 0, 0, capture.Mode{Format: capture.YU12, Width: 32, Height: 64}, nil),
		"format": capture.NewFrame(make([]byte, 64*64*2), 0, 0, capture.Mode{Format: capture.MJPG, Width: 64, Height: 64}, nil),
	} {
		if _, err := enc.Encode(f); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: %v, want ErrFrame", name, err)
		}
	}
	enc.Close()
	if _, err := enc.Encode(capture.NewFrame(make([]byte, 64*64*3/2), 0, 0, m, nil)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Width: 0, Height: 480, FPS: 25},
		{Width: 641, Height: 480, FPS: 25},
		{Width: 640, Height: 8192, FPS: 25},
		{Width: 640, Height: 480, FPS: 0},
		{Width: 640, Height: 480, FPS: 25, Bitrate: 1000},
		{Width: 640, Height: 480, FPS: 25, GOP: -1},
	} {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", c, err)
		}
	}
}

// A missing library is one error that names the package to install.
func TestMissingLibrary(t *testing.T) {
	_, err := loadLib("libopenh264-camagent-test-missing.so.7")
	if !built {
		if !errors.Is(err, ErrNotBuilt) {
			t.Fatalf("got %v, want ErrNotBuilt", err)
		}
		return
	}
	if !errors.Is(err, ErrNoLibrary) || !strings.Contains(err.Error(), "apt-get install libopenh264-7") {
		t.Fatalf("got %v, want ErrNoLibrary naming the package", err)
	}
	t.Log(err)
}

// In steady state Encode allocates nothing, for every input format.
func TestNoAllocs(t *testing.T) {
	const w, h = 320, 240
	for _, f := range []capture.PixelFormat{capture.YU12, capture.NV12, capture.YUYV} {
		enc := newEncoder(t, Config{Width: w, Height: h, FPS: 25, GOP: 10})
		frames := copyFrames(t, pattern(t, f, w, h, 25), 20)
		i := 0
		encodeOne := func() {
			if _, err := enc.Encode(frames[i%len(frames)]); err != nil {
				t.Fatal(err)
			}
			i++
		}
		for range 12 {
			encodeOne() // first IDR and parameter sets cached
		}
		enc.SetBitrate(400_000)
		enc.ForceKeyframe()
		if a := testing.AllocsPerRun(50, encodeOne); a != 0 {
			t.Errorf("%s: %.1f allocations per frame", f, a)
		}
	}
}
