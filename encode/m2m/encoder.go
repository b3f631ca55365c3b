// Package m2m drives a V4L2 stateful memory-to-memory hardware encoder
// (the kernel's "Memory-to-Memory Stateful Video Encoder Interface") on the
// multi-planar API with hand-written ioctls: the Raspberry Pi's
// bcm2835-codec (H.264, usually /dev/video11) in production, the kernel's
// vicodec (FWHT) in the VM test. The coded format is a parameter, so the
// same path drives both.
//
// Raw frames are copied into Output buffers (mmap'd once) stamped with
// their capture time; the driver copies that timestamp to the Capture
// buffer holding the coded frame, which is handed out in place (no copy)
// and given back to the driver at the next Encode. Bitrate, GOP, quality
// (QP where the driver has it), frame rate and keyframe requests are
// controls changed while streaming.
package m2m

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

// FWHT is the FourCC of vicodec's codec, the test stand-in for H.264.
var FWHT = capture.PixelFormat(fwhtFourCC)

// Errors returned by New and Encode, wrapped with details.
var (
	ErrConfig       = errors.New("m2m: invalid config")
	ErrNotEncoder   = errors.New("m2m: not a usable M2M encoder")
	ErrFrame        = errors.New("m2m: unusable frame")
	ErrTimeout      = errors.New("m2m: the encoder returned no frame in time")
	ErrSourceChange = errors.New("m2m: the driver changed the stream's format (source change event)")
	ErrClosed       = errors.New("m2m: encoder closed")
)

// Limits of Config and the knobs.
const (
	MaxFPS     = 120
	MinBitrate = 16_000
	MaxBitrate = 100_000_000
	// DefaultTimeout is how long Encode waits for the coded frame.
	DefaultTimeout = 2 * time.Second
)

// Config describes the encoder to open. Zero fields take the defaults
// noted.
type Config struct {
	// Device is the encoder's node; "" finds one with Find.
	Device string
	// Codec is the coded format: capture.H264 (default) or FWHT.
	Codec capture.PixelFormat
	// Input is the raw format of the frames: YU12, NV12 or YUYV.
	Input capture.PixelFormat
	// Width, Height and FPS of the frames.
	Width, Height, FPS int
	// Bitrate is the target in bit/s where the driver has rate control
	// (default DefaultBitrate).
	Bitrate int
	// GOP is the number of frames from one keyframe to the next (default
	// 2*FPS, clamped to what the driver allows).
	GOP int
	// Quality, 1..100, sets the quantizer where the driver has one as a
	// control (vicodec's FWHT QPs); 0 leaves the driver's default.
	Quality int
	// OutputBuffers and CaptureBuffers are the buffers asked for on each
	// queue (default 3 and 4).
	OutputBuffers, CaptureBuffers int
	// Timeout bounds the wait for one coded frame (default DefaultTimeout).
	Timeout time.Duration
	// Logger gets one line at open, and one per event or error.
	Logger *slog.Logger
	// Open opens a node (default OpenDevice); tests put a FakeDevice here.
	Open func(path string) (Device, error)
}

// DefaultBitrate is 0.1 bit per pixel, within MinBitrate..MaxBitrate
// (768 kbit/s for 640x480 at 25 fps), as for OpenH264.
func DefaultBitrate(w, h, fps int) int {
	return min(max(w*h*fps/10, MinBitrate), MaxBitrate)
}

func (c *Config) validate() error {
	if c.Codec == 0 {
		c.Codec = capture.H264
	}
	if c.Codec != capture.H264 && c.Codec != FWHT {
		return fmt.Errorf("%w: codec %s (want H264 or FWHT)", ErrConfig, c.Codec)
	}
	if rawFrameSize(c.Input, 2, 2) == 0 {
		return fmt.Errorf("%w: input %s (want YU12, NV12 or YUYV)", ErrConfig, c.Input)
	}
	if c.Width < 16 || c.Height < 16 || c.Width > 8192 || c.Height > 8192 || c.Width%2 != 0 || c.Height%2 != 0 {
		return fmt.Errorf("%w: size %dx%d (want even, 16..8192)", ErrConfig, c.Width, c.Height)
	}
	if c.FPS < 1 || c.FPS > MaxFPS {
		return fmt.Errorf("%w: fps %d (want 1..%d)", ErrConfig, c.FPS, MaxFPS)
	}
	if c.Bitrate == 0 {
		c.Bitrate = DefaultBitrate(c.Width, c.Height, c.FPS)
	}
	if c.Bitrate < MinBitrate || c.Bitrate > MaxBitrate {
		return fmt.Errorf("%w: bitrate %d (want %d..%d bit/s)", ErrConfig, c.Bitrate, MinBitrate, MaxBitrate)
	}
	if c.GOP < 0 {
		return fmt.Errorf("%w: gop %d is negative", ErrConfig, c.GOP)
	}
	if c.GOP == 0 {
		c.GOP = 2 * c.FPS
	}
	if c.Quality < 0 || c.Quality > 100 {
		return fmt.Errorf("%w: quality %d (want 1..100, 0 for the driver's)", ErrConfig, c.Quality)
	}
	if c.OutputBuffers == 0 {
		c.OutputBuffers = 3
	}
	if c.CaptureBuffers == 0 {
		c.CaptureBuffers = 4
	}
	if c.OutputBuffers < 1 || c.OutputBuffers > maxBuffers || c.CaptureBuffers < 1 || c.CaptureBuffers > maxBuffers {
		return fmt.Errorf("%w: %d/%d buffers (want 1..%d)", ErrConfig, c.OutputBuffers, c.CaptureBuffers, maxBuffers)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Open == nil {
		c.Open = OpenDevice
	}
	return nil
}

// Stats counts frames since New.
type Stats struct {
	Frames    uint64 // frames queued to the driver
	Coded     uint64 // coded frames returned
	Keyframes uint64
	Dropped   uint64 // frames dropped for the frame-rate knob
	Errors    uint64 // Capture buffers the driver flagged as failed
	Bytes     uint64 // coded bytes returned
	// Drained is set by Close when the driver ended the drain with its
	// LAST buffer (rather than the wait timing out).
	Drained bool
}

// control is one control the encoder may set, found at open.
type control struct {
	info ControlInfo
	ok   bool
}

// Encoder is one open M2M encoder. Encode and Close must be called from
// one goroutine; the setters and ForceKeyframe from any.
type Encoder struct {
	cfg    Config
	dev    Device
	path   string
	log    *slog.Logger
	closed bool

	out, cap [][]byte
	outFmt   Format
	capFmt   Format
	layout   rawLayout
	free     []int // Output buffers the driver does not hold
	held     int   // Capture buffer handed out in the last access unit, -1 if none
	queued   int   // frames queued since open
	stamps   [maxBuffers]stamp
	nstamp   int
	ob, cb   Buffer // scratch
	ev       Event

	bitrate, gop, iPeriod, forceKey, iQP, pQP control

	wantBitrate atomic.Int64
	wantGOP     atomic.Int64
	wantQuality atomic.Int64
	wantFPS     atomic.Int64
	wantKey     atomic.Bool
	bitrateSet  int
	gopSet      int
	qualitySet  int
	fpsSet      int
	dec         encode.Decimator

	nalus   [][]byte
	au      encode.AccessUnit
	hdr     []byte // SPS and PPS from a header-only buffer, Annex-B
	hdrNALs [][]byte
	sps     atomic.Pointer[[]byte]
	pps     atomic.Pointer[[]byte]
	stats   Stats
}

// stamp pairs a queued frame's timestamp with its sequence number.
type stamp struct {
	ts  time.Duration
	seq uint32
}

var (
	_ encode.Encoder        = (*Encoder)(nil)
	_ encode.KeyframeForcer = (*Encoder)(nil)
	_ encode.Tunable        = (*Encoder)(nil)
)

// New opens the encoder, sets its formats, rate, controls and buffers, and
// starts both queues.
func New(cfg Config) (*Encoder, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	path := cfg.Device
	if path == "" {
		p, _, err := Find(cfg.Codec, cfg.Input, cfg.Open)
		if err != nil {
			return nil, err
		}
		path = p
	}
	dev, err := cfg.Open(path)
	if err != nil {
		return nil, err
	}
	e := &Encoder{cfg: cfg, dev: dev, path: path, log: cfg.Logger, held: -1}
	if err := e.setup(); err != nil {
		dev.Close()
		return nil, err
	}
	return e, nil
}

// Check reports why the device cannot encode input frames into codec, or
// nil when it can.
func Check(dev Device, codec, input capture.PixelFormat) error {
	c := dev.Caps()
	if !c.MultiPlanarM2M() {
		if c.SinglePlanarM2M() {
			return fmt.Errorf("%w: %s (%s) speaks the single-planar M2M API, and camagent drives the multi-planar one", ErrNotEncoder, c.Card, c.Driver)
		}
		return fmt.Errorf("%w: %s (%s) is not a memory-to-memory device", ErrNotEncoder, c.Card, c.Driver)
	}
	coded, err := dev.Formats(Capture)
	if err != nil {
		return err
	}
	if !has(coded, codec) {
		return fmt.Errorf("%w: %s (%s) does not code %s (it gives %s)", ErrNotEncoder, c.Card, c.Driver, codec, list(coded))
	}
	raw, err := dev.Formats(Output)
	if err != nil {
		return err
	}
	if !has(raw, input) {
		return fmt.Errorf("%w: %s (%s) does not take %s frames (it takes %s)", ErrNotEncoder, c.Card, c.Driver, input, list(raw))
	}
	return nil
}

func has(l []capture.PixelFormat, f capture.PixelFormat) bool {
	for _, x := range l {
		if x == f {
			return true
		}
	}
	return false
}

func list(l []capture.PixelFormat) string {
	if len(l) == 0 {
		return "nothing"
	}
	var b bytes.Buffer
	for i, f := range l {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.String())
	}
	return b.String()
}

// setup follows the stateful encoder's initialization sequence: CAPTURE
// (coded) format first, then OUTPUT (raw), frame interval, controls,
// buffers, and STREAMON on both queues.
func (e *Encoder) setup() error {
	c := e.cfg
	if err := Check(e.dev, c.Codec, c.Input); err != nil {
		return err
	}
	if _, err := e.dev.SetFormat(Capture, Format{Format: c.Codec, Width: c.Width, Height: c.Height}); err != nil {
		return err
	}
	of, err := e.dev.SetFormat(Output, Format{Format: c.Input, Width: c.Width, Height: c.Height})
	if err != nil {
		return err
	}
	if of.Format != c.Input || of.Width != c.Width || of.Planes > 1 {
		return fmt.Errorf("%w: asked for %dx%d %s frames, the driver set %dx%d %s in %d planes", ErrNotEncoder, c.Width, c.Height, c.Input, of.Width, of.Height, of.Format, of.Planes)
	}
	if e.layout, err = newLayout(c.Input, c.Width, c.Height, of); err != nil {
		return err
	}
	e.outFmt = of
	if e.capFmt, err = e.dev.GetFormat(Capture); err != nil {
		return err
	}
	if e.capFmt.Format != c.Codec || e.capFmt.SizeImage <= 0 {
		return fmt.Errorf("%w: CAPTURE format is %s of %d bytes", ErrNotEncoder, e.capFmt.Format, e.capFmt.SizeImage)
	}
	rate, err := e.dev.SetFrameRate(c.FPS)
	if err != nil {
		return err
	}
	e.fpsSet = c.FPS
	e.wantFPS.Store(int64(c.FPS))
	e.initControls()
	for _, ev := range []uint32{eventEOS, eventSourceChange} {
		if err := e.dev.Subscribe(ev); err != nil && ev == eventEOS {
			e.log.Debug("no EOS event; the drain ends at the LAST buffer", "err", err)
		}
	}
	if e.out, err = e.dev.Allocate(Output, c.OutputBuffers); err != nil {
		return err
	}
	if e.cap, err = e.dev.Allocate(Capture, c.CaptureBuffers); err != nil {
		return err
	}
	for i := range e.out {
		if len(e.out[i]) < e.layout.size {
			return fmt.Errorf("%w: OUTPUT buffer %d is %d bytes, the format needs %d", ErrNotEncoder, i, len(e.out[i]), e.layout.size)
		}
	}
	e.free = make([]int, 0, len(e.out))
	for i := range e.out {
		e.free = append(e.free, i)
	}
	for i := range e.cap {
		e.cb = Buffer{Index: i}
		if err := e.dev.Enqueue(Capture, &e.cb); err != nil {
			return fmt.Errorf("m2m: VIDIOC_QBUF CAPTURE %d: %w", i, err)
		}
	}
	if err := e.dev.StreamOn(Output); err != nil {
		return err
	}
	if err := e.dev.StreamOn(Capture); err != nil {
		return err
	}
	e.nalus = make([][]byte, 0, 16)
	e.hdrNALs = make([][]byte, 0, 4)
	e.hdr = make([]byte, 0, 256)
	caps := e.dev.Caps()
	e.log.Info("m2m encoder open", "device", e.path, "driver", caps.Driver, "card", caps.Card,
		"codec", c.Codec.String(), "input", c.Input.String(), "size", fmt.Sprintf("%dx%d", c.Width, c.Height),
		"stride", e.layout.stride, "output_bytes", e.layout.size, "capture_bytes", e.capFmt.SizeImage,
		"buffers", fmt.Sprintf("%d/%d", len(e.out), len(e.cap)), "driver_fps", rate, "knobs", e.Knobs().String())
	return nil
}

// initControls finds the controls this encoder uses and sets their
// initial values. Controls the driver lacks are skipped; a value it
// refuses is logged once.
func (e *Encoder) initControls() {
	c := e.cfg
	find := func(id uint32) control {
		info, err := e.dev.Control(id)
		if err != nil || info.Disabled || info.ReadOn {
			return control{}
		}
		return control{info: info, ok: true}
	}
	e.bitrate = find(cidBitrate)
	e.gop = find(cidGOPSize)
	e.iPeriod = find(cidH264IPeriod)
	e.forceKey = find(cidForceKeyFrame)
	e.iQP = find(cidFWHTIFrameQP)
	e.pQP = find(cidFWHTPFrameQP)
	set := func(name string, id uint32, v int32) {
		if err := e.dev.SetControl(id, v); err != nil {
			e.log.Warn("the encoder refused a control", "control", name, "value", v, "err", err)
		}
	}
	if c.Codec == capture.H264 {
		if p := find(cidH264Profile); p.ok {
			if err := e.dev.SetControl(cidH264Profile, h264ProfileCBaseline); err != nil {
				set("h264_profile", cidH264Profile, h264ProfileBaseline)
			}
		}
		if l := find(cidH264Level); l.ok {
			set("h264_level", cidH264Level, l.info.Clamp(h264Level(c.Width, c.Height, c.FPS)))
		}
		if r := find(cidRepeatSeqHeader); r.ok {
			set("repeat_sequence_header", cidRepeatSeqHeader, 1)
		}
		if h := find(cidHeaderMode); h.ok && h.info.Max >= headerModeJoined {
			set("header_mode", cidHeaderMode, headerModeJoined)
		}
	}
	e.wantBitrate.Store(int64(c.Bitrate))
	e.wantGOP.Store(int64(c.GOP))
	e.wantQuality.Store(int64(c.Quality))
	e.applyKnobs()
}

// h264Level is the V4L2 menu index of the lowest level (up to 4.2) whose
// macroblock rate and frame size fit the mode.
func h264Level(w, h, fps int) int {
	mbs := ((w + 15) / 16) * ((h + 15) / 16)
	for _, l := range []struct{ idx, frame, rate int }{
		{8, 1620, 40500},    // 3.0
		{9, 3600, 108000},   // 3.1
		{10, 5120, 216000},  // 3.2
		{11, 8192, 245760},  // 4.0
		{13, 8704, 522240},  // 4.2
		{14, 22080, 589824}, // 5.0
	} {
		if mbs <= l.frame && mbs*fps <= l.rate {
			return l.idx
		}
	}
	return 15 // 5.1
}

// applyKnobs hands changed knob values to the driver. It runs on the
// Encode goroutine, before a frame is queued.
func (e *Encoder) applyKnobs() {
	if br := int(e.wantBitrate.Load()); br != e.bitrateSet && e.bitrate.ok {
		if err := e.dev.SetControl(cidBitrate, e.bitrate.info.Clamp(br)); err != nil {
			e.log.Warn("setting the bitrate failed", "bitrate", br, "err", err)
		}
		e.bitrateSet = br
	}
	if g := int(e.wantGOP.Load()); g != e.gopSet {
		for _, c := range []struct {
			id uint32
			c  control
		}{{cidGOPSize, e.gop}, {cidH264IPeriod, e.iPeriod}} {
			if c.c.ok {
				if err := e.dev.SetControl(c.id, c.c.info.Clamp(g)); err != nil {
					e.log.Warn("setting the GOP failed", "gop", g, "err", err)
				}
			}
		}
		e.gopSet = g
	}
	if q := int(e.wantQuality.Load()); q != e.qualitySet && q > 0 {
		for _, c := range []struct {
			id uint32
			c  control
		}{{cidFWHTIFrameQP, e.iQP}, {cidFWHTPFrameQP, e.pQP}} {
			if c.c.ok {
				if err := e.dev.SetControl(c.id, qpFor(q, c.c.info)); err != nil {
					e.log.Warn("setting the quantizer failed", "quality", q, "err", err)
				}
			}
		}
		e.qualitySet = q
	}
	if fps := min(int(e.wantFPS.Load()), e.cfg.FPS); fps != e.fpsSet && fps > 0 {
		if _, err := e.dev.SetFrameRate(fps); err != nil {
			e.log.Warn("setting the frame interval failed", "fps", fps, "err", err)
		}
		e.fpsSet = fps
	}
}

// qpFor maps quality 1..100 onto a quantizer control, 100 to its minimum
// (finest), 1 to its maximum.
func qpFor(q int, c ControlInfo) int32 {
	span := int(c.Max) - int(c.Min)
	return c.Clamp(int(c.Min) + (100-q)*span/99)
}

// Knobs reports the knobs the driver really has: bitrate with a bitrate
// control, quality with quantizer controls, keyframe with
// FORCE_KEY_FRAME; frame rate always (frames are dropped, and the
// driver's rate control is told where it listens).
func (e *Encoder) Knobs() encode.Knob {
	k := encode.KnobFramerate
	if e.bitrate.ok {
		k |= encode.KnobBitrate
	}
	if e.iQP.ok || e.pQP.ok {
		k |= encode.KnobQuality
	}
	if e.forceKey.ok {
		k |= encode.KnobKeyframe
	}
	return k
}

// SetBitrate sets the rate control's target, MinBitrate..MaxBitrate bit/s.
func (e *Encoder) SetBitrate(bps int) error {
	if !e.bitrate.ok {
		return encode.ErrNoKnob
	}
	if bps < MinBitrate || bps > MaxBitrate {
		return fmt.Errorf("%w: bitrate %d (want %d..%d bit/s)", ErrConfig, bps, MinBitrate, MaxBitrate)
	}
	e.wantBitrate.Store(int64(bps))
	return nil
}

// SetGOP sets the frames from one keyframe to the next (clamped to the
// driver's range), from the next frame.
func (e *Encoder) SetGOP(frames int) error {
	if !e.gop.ok && !e.iPeriod.ok {
		return encode.ErrNoKnob
	}
	if frames < 1 {
		return fmt.Errorf("%w: gop %d (want at least 1)", ErrConfig, frames)
	}
	e.wantGOP.Store(int64(frames))
	return nil
}

// SetFramerate drops frames to keep at most fps frames per second, and
// sets the driver's frame interval for its rate control.
func (e *Encoder) SetFramerate(fps int) error {
	if err := e.dec.SetRate(fps); err != nil {
		return err
	}
	e.wantFPS.Store(int64(fps))
	return nil
}

// SetQuality sets the quantizers, 1 (coarsest) to 100 (finest), where the
// driver has them as controls.
func (e *Encoder) SetQuality(q int) error {
	if !e.iQP.ok && !e.pQP.ok {
		return encode.ErrNoKnob
	}
	if q < 1 || q > 100 {
		return fmt.Errorf("%w: quality %d (want 1..100)", ErrConfig, q)
	}
	e.wantQuality.Store(int64(q))
	return nil
}

// ForceKeyframe makes the next frame a keyframe, where the driver has
// V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME.
func (e *Encoder) ForceKeyframe() { e.wantKey.Store(true) }

// ParameterSets returns the last SPS and PPS seen (H.264), without start
// codes; nil before the first keyframe.
func (e *Encoder) ParameterSets() (sps, pps []byte) {
	if s := e.sps.Load(); s != nil {
		sps = *s
	}
	if p := e.pps.Load(); p != nil {
		pps = *p
	}
	return sps, pps
}

// Stats returns the counters; call it from the goroutine that calls Encode.
func (e *Encoder) Stats() Stats { return e.stats }

// Device is the node the encoder opened.
func (e *Encoder) Device() string { return e.path }

// Caps is what the node said of itself.
func (e *Encoder) Caps() Caps { return e.dev.Caps() }
