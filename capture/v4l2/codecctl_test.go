package v4l2

import (
	"context"
	"errors"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/camagent/camagent/capture"
)

// The IDs as linux/v4l2-controls.h builds them: a class, a base at 0x900
// within it, and each control's offset from the base.
func TestCodecControlIDs(t *testing.T) {
	const (
		classCodec = 0x00990000 // V4L2_CTRL_CLASS_CODEC (= _MPEG)
		classJPEG  = 0x009d0000 // V4L2_CTRL_CLASS_JPEG
		codecBase  = classCodec | 0x900
		jpegBase   = classJPEG | 0x900
	)
	for _, c := range []struct {
		name      string
		got, want uint32
	}{
		{"MPEG_VIDEO_GOP_SIZE", CIDGOPSize, codecBase + 203},
		{"MPEG_VIDEO_BITRATE", CIDBitrate, codecBase + 207},
		{"MPEG_VIDEO_FORCE_KEY_FRAME", CIDForceKeyFrame, codecBase + 229},
		{"MPEG_VIDEO_H264_I_PERIOD", CIDH264IPeriod, codecBase + 358},
		{"JPEG_COMPRESSION_QUALITY", CIDJPEGCompressQ, jpegBase + 3},
	} {
		if c.got != c.want {
			t.Errorf("V4L2_CID_%s = 0x%08x, want 0x%08x", c.name, c.got, c.want)
		}
	}
}

// h264CamControls are a UVC H.264 camera's codec controls, beside the
// usual image ones.
func h264CamControls() []ControlInfo {
	return append(testControls(),
		ControlInfo{ID: CIDBitrate, Name: "Video Bitrate", Type: ctrlTypeInteger, Min: 100_000, Max: 8_000_000, Step: 1000, Default: 2_000_000},
		ControlInfo{ID: CIDH264IPeriod, Name: "H264 I-Frame Period", Type: ctrlTypeInteger, Min: 1, Max: 600, Step: 1, Default: 30},
		ControlInfo{ID: CIDForceKeyFrame, Name: "Force Key Frame", Type: ctrlTypeButton, Flags: ctrlFlagWriteOnly},
	)
}

func h264Rig(t *testing.T, ctrls []ControlInfo) (*rig, *Source) {
	t.Helper()
	cat := Catalog{format(capture.H264, size(1280, 720, 30))}
	r := newRig(t, cat)
	r.newDev = func() *FakeDevice { return &FakeDevice{Catalog: cat, ControlList: ctrls, AutoCapture: true} }
	s, err := Open(r.config(1280, 720, 30))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return r, s
}

func TestCodecControlsFoundClampedAndSet(t *testing.T) {
	r, s := h264Rig(t, h264CamControls())
	c := s.CodecControls()
	if !c.HasBitrate() || !c.HasGOP() || !c.HasKeyframe() || c.HasQuality() {
		t.Fatalf("found bitrate %v gop %v keyframe %v quality %v", c.HasBitrate(), c.HasGOP(), c.HasKeyframe(), c.HasQuality())
	}
	for _, tc := range []struct{ ask, want int }{{20_000_000, 8_000_000}, {1_234_567, 1_234_000}, {5, 100_000}} {
		got, err := c.SetBitrate(tc.ask)
		if err != nil || got != tc.want {
			t.Errorf("SetBitrate(%d) = %d, %v; want %d", tc.ask, got, err, tc.want)
		}
	}
	if got, err := c.SetGOP(1000); err != nil || got != 600 {
		t.Errorf("SetGOP(1000) = %d, %v", got, err)
	}
	if err := c.ForceKeyframe(); err != nil {
		t.Error(err)
	}
	if _, err := c.SetQuality(50); !errors.Is(err, ErrNoControl) {
		t.Errorf("SetQuality on a camera without the control: %v", err)
	}
	want := []ControlSetting{{"Video Bitrate", 8_000_000}, {"Video Bitrate", 1_234_000}, {"Video Bitrate", 100_000},
		{"H264 I-Frame Period", 600}, {"Force Key Frame", 1}}
	if got := r.dev(0).SetControls(); !equalSettings(got, want) {
		t.Fatalf("set %v, want %v", got, want)
	}
}

func equalSettings(a, b []ControlSetting) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCodecControlsQualityMapsOntoRange(t *testing.T) {
	cat := Catalog{format(capture.MJPG, size(640, 480, 30))}
	r := newRig(t, cat)
	ctrls := append(testControls(), ControlInfo{ID: CIDJPEGCompressQ, Name: "Compression Quality", Type: ctrlTypeInteger, Min: 0, Max: 10, Step: 1})
	r.newDev = func() *FakeDevice { return &FakeDevice{Catalog: cat, ControlList: ctrls, AutoCapture: true} }
	cfg := r.config(640, 480, 30)
	cfg.Prefer = Preference("mjpeg")
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := s.CodecControls()
	if !c.HasQuality() || c.HasBitrate() || c.HasKeyframe() || c.HasGOP() {
		t.Fatal("want the quality control only")
	}
	for _, tc := range []struct{ q, want int }{{1, 0}, {100, 10}, {50, 4}, {500, 10}, {-3, 0}} {
		if got, err := c.SetQuality(tc.q); err != nil || got != tc.want {
			t.Errorf("SetQuality(%d) = %d, %v; want %d", tc.q, got, err, tc.want)
		}
	}
}

// Read-only controls, and ones of the wrong type, are not knobs; nor are
// any of a camera that has none.
func TestCodecControlsAbsent(t *testing.T) {
	ro := []ControlInfo{
		{ID: CIDBitrate, Name: "Video Bitrate", Type: ctrlTypeInteger, Min: 1, Max: 10, Flags: ctrlFlagReadOnly},
		{ID: CIDForceKeyFrame, Name: "Force Key Frame", Type: ctrlTypeInteger, Min: 0, Max: 1},
	}
	for _, ctrls := range [][]ControlInfo{nil, testControls(), ro} {
		_, s := h264Rig(t, ctrls)
		c := s.CodecControls()
		if c.HasBitrate() || c.HasKeyframe() || c.HasGOP() || c.HasQuality() {
			t.Fatalf("controls %v: found a codec control", ctrls)
		}
		if _, err := c.SetBitrate(1); !errors.Is(err, ErrNoControl) {
			t.Fatalf("SetBitrate: %v", err)
		}
		if err := c.ForceKeyframe(); !errors.Is(err, ErrNoControl) {
			t.Fatalf("ForceKeyframe: %v", err)
		}
	}
	var zero CodecControls
	if _, err := zero.SetQuality(1); !errors.Is(err, ErrNoControl) || zero.HasBitrate() {
		t.Fatal("a zero CodecControls has controls")
	}
}

// Setters run from another goroutine (the rate adapter's) while Next
// streams; -race checks the locking.
func TestCodecControlsWhileStreaming(t *testing.T) {
	r, s := h264Rig(t, h264CamControls())
	c := s.CodecControls()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			f, err := s.Next(ctx)
			if err != nil {
				return
			}
			f.Release()
		}
	})
	for i := range 200 {
		if _, err := c.SetBitrate(200_000 + i*1000); err != nil {
			t.Error(err)
		}
		c.ForceKeyframe()
	}
	cancel()
	wg.Wait()
	if n := len(r.dev(0).SetControls()); n != 400 {
		t.Fatalf("%d controls set, want 400", n)
	}
}

// After the camera is lost and back, the codec values set are set again;
// one set while it is gone waits for it.
func TestCodecControlsSetAgainAfterReopen(t *testing.T) {
	r, s := h264Rig(t, h264CamControls())
	c := s.CodecControls()
	if _, err := c.SetBitrate(3_000_000); err != nil {
		t.Fatal(err)
	}
	next(t, s).Release()
	// The camera is unplugged; the source has seen it (as Next does on
	// the failed poll) and not yet reopened it.
	r.dev(0).Fail(unix.ENODEV)
	s.lose(s.sess, unix.ENODEV)
	if _, err := c.SetBitrate(4_000_000); err != nil {
		t.Fatalf("SetBitrate while the camera is gone: %v", err)
	}
	if err := c.ForceKeyframe(); !errors.Is(err, ErrNoControl) {
		t.Fatalf("ForceKeyframe while the camera is gone: %v", err)
	}
	f := next(t, s)
	if !f.Restart {
		t.Fatal("no reopen")
	}
	f.Release()
	want := []ControlSetting{{"Video Bitrate", 4_000_000}}
	if got := r.dev(1).SetControls(); !equalSettings(got, want) {
		t.Fatalf("after reopening set %v, want %v", got, want)
	}
}
