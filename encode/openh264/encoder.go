package openh264

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

// Errors returned by New and Encode, wrapped with details.
var (
	ErrConfig = errors.New("openh264: invalid config")
	ErrFrame  = errors.New("openh264: unusable frame")
	ErrEncode = errors.New("openh264: the library failed")
	ErrClosed = errors.New("openh264: encoder closed")
)

// Limits of Config and the knobs.
const (
	MinSize    = 16
	MaxSize    = 4096
	MaxFPS     = 120
	MinBitrate = 16_000
	MaxBitrate = 100_000_000
)

// Config describes the stream to produce. Zero fields take the defaults
// noted.
type Config struct {
	// Width and Height of the frames: even, MinSize..MaxSize.
	Width, Height int
	// FPS is the source's frame rate, 1..MaxFPS.
	FPS int
	// Bitrate is the target in bits per second, MinBitrate..MaxBitrate
	// (default DefaultBitrate).
	Bitrate int
	// GOP is the number of frames from one IDR to the next (default 2*FPS).
	GOP int
}

// DefaultBitrate is a target for a camera picture of that size and rate:
// 0.1 bit per pixel, within MinBitrate..MaxBitrate (768 kbit/s for
// 640x480 at 25 fps, 2.3 Mbit/s for 1280x720 at 25 fps).
func DefaultBitrate(w, h, fps int) int {
	return min(max(w*h*fps/10, MinBitrate), MaxBitrate)
}

func (c *Config) validate() error {
	for _, d := range []struct {
		name string
		v    int
	}{{"width", c.Width}, {"height", c.Height}} {
		if d.v < MinSize || d.v > MaxSize || d.v%2 != 0 {
			return fmt.Errorf("%w: %s %d (want even, %d..%d)", ErrConfig, d.name, d.v, MinSize, MaxSize)
		}
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
	return nil
}

// Encoder is one OpenH264 encoder: Constrained Baseline (CAVLC, no B
// frames), one slice per picture, bitrate rate control, single-threaded,
// SPS and PPS (with constant ids) before every IDR. Input is YU12 (used in
// place), NV12 or YUYV (converted into a buffer allocated once).
//
// Its knobs are bitrate, frame rate and keyframe. A new bitrate or frame
// rate is handed to the library's rate control before the next frame; the
// frame rate is also lowered by dropping frames (going by their capture
// timestamps) before they reach the library, so the references stay
// intact. It has no quality knob: the rate control picks the quantizer.
// The library does not skip frames on its own.
//
// Encode and Close must be called from one goroutine; the setters,
// ForceKeyframe and ParameterSets from any.
type Encoder struct {
	lib *lib
	// handle is the library's ISVCEncoder*: a pointer to its function
	// table. Both live in C memory.
	handle **encoderVtbl
	cfg    Config
	closed bool

	// Arguments handed to the library; they live in this heap object, so
	// their addresses are stable during a call.
	param encParamExt
	pic   sourcePicture
	info  frameBSInfo
	rate  bitrateInfo
	fps   float32
	trace int32
	args  [3]uintptr // the arguments of the C call under way

	planes []byte // I420 conversion buffer for NV12 (chroma) and YUYV
	nalus  [][]byte
	au     encode.AccessUnit

	sps, pps atomic.Pointer[[]byte]

	dec         encode.Decimator
	forceKey    atomic.Bool
	wantBitrate atomic.Int64
	wantFPS     atomic.Int64
	bitrate     int // applied
	rcFPS       int // applied

	stats Stats
}

var (
	_ encode.Encoder        = (*Encoder)(nil)
	_ encode.KeyframeForcer = (*Encoder)(nil)
	_ encode.Tunable        = (*Encoder)(nil)
)

// Stats counts frames since New.
type Stats struct {
	Frames  uint64 // frames handed to the library
	IDRs    uint64
	Skipped uint64 // frames the library returned nothing for
	Dropped uint64 // frames dropped for the frame-rate knob
	Bytes   uint64 // NAL unit bytes produced, without start codes
}

// New loads the library (once per process) and starts an encoder.
func New(cfg Config) (*Encoder, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l, err := load()
	if err != nil {
		return nil, err
	}
	e := &Encoder{lib: l, cfg: cfg, bitrate: cfg.Bitrate, rcFPS: cfg.FPS}
	e.wantBitrate.Store(int64(cfg.Bitrate))
	e.wantFPS.Store(int64(cfg.FPS))
	e.args = [3]uintptr{uintptr(unsafe.Pointer(&e.handle))}
	if rc := ccall(l.create, &e.args); rc != 0 || e.handle == nil {
		return nil, fmt.Errorf("%w: WelsCreateSVCEncoder returned %d", ErrEncode, int32(rc))
	}
	if err := e.init(); err != nil {
		e.Close()
		return nil, err
	}
	e.au.Codec = encode.H264
	return e, nil
}

func (e *Encoder) vt() *encoderVtbl { return *e.handle }

// call calls one of the encoder's functions with up to two arguments
// after the handle (unused ones are 0, which C ignores) and reports a
// failure. The arguments point into e, which stays alive meanwhile.
func (e *Encoder) call(what string, fn uintptr, a1, a2 uintptr) error {
	e.args = [3]uintptr{uintptr(unsafe.Pointer(e.handle)), a1, a2}
	rc := int32(ccall(fn, &e.args))
	runtime.KeepAlive(e)
	if rc != cmResultSuccess {
		return fmt.Errorf("%w: %s returned %d", ErrEncode, what, rc)
	}
	return nil
}

func (e *Encoder) init() error {
	vt, c := e.vt(), e.cfg
	e.trace = welsLogQuiet // the library logs to stderr otherwise
	if err := e.call("SetOption(TRACE_LEVEL)", vt.SetOption, encoderOptionTraceLevel, uintptr(unsafe.Pointer(&e.trace))); err != nil {
		return err
	}
	p := &e.param
	if err := e.call("GetDefaultParams", vt.GetDefaultParams, uintptr(unsafe.Pointer(p)), 0); err != nil {
		return err
	}
	p.iUsageType = cameraVideoRealTime
	p.iPicWidth, p.iPicHeight = int32(c.Width), int32(c.Height)
	p.iTargetBitrate = int32(c.Bitrate)
	p.iMaxBitrate = unspecifiedBitRate
	p.iRCMode = rcBitrateMode
	p.fMaxFrameRate = float32(c.FPS)
	p.iTemporalLayerNum, p.iSpatialLayerNum = 1, 1
	p.iComplexityMode = lowComplexity
	p.uiIntraPeriod = uint32(c.GOP)
	p.iNumRefFrame = 1
	p.eSpsPpsIdStrategy = constantID
	p.bPrefixNalAddingCtrl, p.bEnableSSEI, p.bSimulcastAVC = false, false, false
	p.iEntropyCodingModeFlag = 0 // CAVLC
	p.bEnableFrameSkip = false
	p.bEnableLongTermReference = false
	p.iMultipleThreadIdc = 1
	p.bEnableFrameCroppingFlag = true
	l := &p.sSpatialLayers[0]
	l.iVideoWidth, l.iVideoHeight = int32(c.Width), int32(c.Height)
	l.fFrameRate = float32(c.FPS)
	l.iSpatialBitrate = int32(c.Bitrate)
	l.iMaxSpatialBitrate = unspecifiedBitRate
	l.uiProfileIdc = proBaseline
	l.uiLevelIdc = 0 // chosen by the library from size and rate
	l.sSliceArgument.uiSliceMode = smSingleSlice
	l.sSliceArgument.uiSliceNum = 1
	if err := e.call("InitializeExt", vt.InitializeExt, uintptr(unsafe.Pointer(p)), 0); err != nil {
		return err
	}
	if err := e.call("EncodeParameterSets", vt.EncodeParameterSets, uintptr(unsafe.Pointer(&e.info)), 0); err != nil {
		return err
	}
	if err := e.collect(); err != nil {
		return err
	}
	if e.sps.Load() == nil || e.pps.Load() == nil {
		return fmt.Errorf("%w: EncodeParameterSets gave no SPS and PPS", ErrEncode)
	}
	e.pic.iColorFormat = videoFormatI420
	e.pic.iPicWidth, e.pic.iPicHeight = int32(c.Width), int32(c.Height)
	e.pic.iStride = [4]int32{int32(c.Width), int32(c.Width / 2), int32(c.Width / 2), 0}
	return nil
}

// ParameterSets returns the SPS and PPS NAL units (without start codes)
// of the stream. The slices are never modified.
func (e *Encoder) ParameterSets() (sps, pps []byte) {
	if s := e.sps.Load(); s != nil {
		sps = *s
	}
	if p := e.pps.Load(); p != nil {
		pps = *p
	}
	return sps, pps
}

// Knobs reports bitrate, frame rate and keyframe.
func (e *Encoder) Knobs() encode.Knob {
	return encode.KnobBitrate | encode.KnobFramerate | encode.KnobKeyframe
}

// SetBitrate sets the rate control's target, MinBitrate..MaxBitrate bit/s.
func (e *Encoder) SetBitrate(bps int) error {
	if bps < MinBitrate || bps > MaxBitrate {
		return fmt.Errorf("%w: bitrate %d (want %d..%d bit/s)", ErrConfig, bps, MinBitrate, MaxBitrate)
	}
	e.wantBitrate.Store(int64(bps))
	return nil
}

// SetFramerate drops frames to keep at most fps frames per second, and
// tells the rate control (which spreads the bitrate over the frames).
func (e *Encoder) SetFramerate(fps int) error {
	if err := e.dec.SetRate(fps); err != nil {
		return err
	}
	e.wantFPS.Store(int64(fps))
	return nil
}

// SetQuality returns encode.ErrNoKnob: the rate control picks the
// quantizer from the bitrate.
func (e *Encoder) SetQuality(int) error { return encode.ErrNoKnob }

// ForceKeyframe makes the next encoded frame an IDR.
func (e *Encoder) ForceKeyframe() { e.forceKey.Store(true) }

// Bitrate reports the target the rate control has.
func (e *Encoder) Bitrate() int { return int(e.wantBitrate.Load()) }

// Stats returns the counters; call it from the goroutine that calls Encode.
func (e *Encoder) Stats() Stats { return e.stats }

// Close frees the library's encoder. Later calls to Encode fail.
func (e *Encoder) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	if e.handle != nil {
		e.args = [3]uintptr{uintptr(unsafe.Pointer(e.handle))}
		ccall(e.vt().Uninitialize, &e.args)
		ccall(e.lib.destroy, &e.args)
		e.handle = nil
	}
	return nil
}

// Encode encodes f. It returns (nil, nil) for a frame dropped for the
// frame-rate knob or skipped by the library. The access unit and its NAL
// units (which point into the library's memory) are valid until the next
// call. Keyframes carry SPS, PPS and the IDR slice.
func (e *Encoder) Encode(f *capture.Frame) (*encode.AccessUnit, error) {
	if e.closed {
		return nil, ErrClosed
	}
	if err := e.load(f); err != nil {
		return nil, err
	}
	if !e.dec.Keep(f.Timestamp) {
		e.pic.pData = [4]*byte{}
		e.stats.Dropped++
		return nil, nil
	}
	if err := e.applyKnobs(); err != nil {
		e.pic.pData = [4]*byte{}
		return nil, err
	}
	vt := e.vt()
	if e.forceKey.Swap(false) {
		if err := e.call("ForceIntraFrame", vt.ForceIntraFrame, 1, math.MaxUint32); err != nil {
			e.pic.pData = [4]*byte{}
			return nil, err
		}
	}
	e.pic.uiTimeStamp = f.Timestamp.Milliseconds()
	err := e.call("EncodeFrame", vt.EncodeFrame, uintptr(unsafe.Pointer(&e.pic)), uintptr(unsafe.Pointer(&e.info)))
	e.pic.pData = [4]*byte{} // do not keep the frame alive
	runtime.KeepAlive(f)
	if err != nil {
		return nil, err
	}
	e.stats.Frames++
	if t := e.info.eFrameType; t == videoFrameTypeSkip || t == videoFrameTypeInvalid {
		e.stats.Skipped++
		return nil, nil
	}
	if err := e.collect(); err != nil {
		return nil, err
	}
	if len(e.nalus) == 0 {
		e.stats.Skipped++
		return nil, nil
	}
	idr := e.info.eFrameType == videoFrameTypeIDR
	if idr {
		e.stats.IDRs++
	}
	e.au.NALUs = e.nalus
	e.au.Timestamp = f.Timestamp
	e.au.Sequence = f.Sequence
	e.au.Keyframe = idr
	return &e.au, nil
}

// applyKnobs hands a new bitrate or frame rate to the rate control.
func (e *Encoder) applyKnobs() error {
	vt := e.vt()
	if br := int(e.wantBitrate.Load()); br != e.bitrate {
		e.rate = bitrateInfo{iLayer: spatialLayerAll, iBitrate: int32(br)}
		if err := e.call("SetOption(BITRATE)", vt.SetOption, encoderOptionBitrate, uintptr(unsafe.Pointer(&e.rate))); err != nil {
			return err
		}
		e.bitrate = br
	}
	if fps := min(int(e.wantFPS.Load()), e.cfg.FPS); fps != e.rcFPS {
		e.fps = float32(fps)
		if err := e.call("SetOption(FRAME_RATE)", vt.SetOption, encoderOptionFrameRate, uintptr(unsafe.Pointer(&e.fps))); err != nil {
			return err
		}
		e.rcFPS = fps
	}
	return nil
}

// collect turns e.info into e.nalus, without start codes, and caches the
// parameter sets when they change.
func (e *Encoder) collect() error {
	e.nalus = e.nalus[:0]
	n := int(e.info.iLayerNum)
	if n < 0 || n > maxLayerNumOfFrame {
		return fmt.Errorf("%w: %d layers", ErrEncode, n)
	}
	for i := range n {
		l := &e.info.sLayerInfo[i]
		cnt := int(l.iNalCount)
		if cnt <= 0 {
			continue
		}
		if cnt > maxNalUnitsInLayer || l.pNalLengthInByte == nil || l.pBsBuf == nil {
			return fmt.Errorf("%w: layer %d has %d NAL units", ErrEncode, i, cnt)
		}
		lens := unsafe.Slice(l.pNalLengthInByte, cnt)
		total := 0
		for _, ln := range lens {
			if ln < 0 || ln > math.MaxInt32-int32(total) {
				return fmt.Errorf("%w: NAL unit of %d bytes", ErrEncode, ln)
			}
			total += int(ln)
		}
		buf := unsafe.Slice(l.pBsBuf, total)
		for _, ln := range lens {
			nal := stripStartCode(buf[:ln])
			buf = buf[ln:]
			if len(nal) == 0 {
				continue
			}
			switch nal[0] & 0x1f {
			case 7:
				cacheIfNew(&e.sps, nal)
			case 8:
				cacheIfNew(&e.pps, nal)
			}
			e.nalus = append(e.nalus, nal)
			e.stats.Bytes += uint64(len(nal))
		}
	}
	return nil
}

func cacheIfNew(p *atomic.Pointer[[]byte], nal []byte) {
	if old := p.Load(); old == nil || !bytes.Equal(*old, nal) {
		c := bytes.Clone(nal)
		p.Store(&c)
	}
}

// stripStartCode removes a leading 00 00 01 or 00 00 00 01.
func stripStartCode(b []byte) []byte {
	switch {
	case len(b) >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 1:
		return b[4:]
	case len(b) >= 3 && b[0] == 0 && b[1] == 0 && b[2] == 1:
		return b[3:]
	}
	return b
}
