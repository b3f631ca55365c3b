// Package h264sw is a small pure-Go H.264 encoder, the last-resort software
// encoder used for the built-in test pattern. It needs no external program
// or C library.
//
// It produces a Constrained Baseline stream (CAVLC, one slice per picture,
// deblocking off, QP 0) that decodes bit-exactly to its input, after zero
// samples are raised to 1. Each macroblock is coded the cheapest way that is
// still exact:
//
//   - P_Skip when it equals the previous picture;
//   - Intra16x16 with no luma residual when vertical, horizontal or DC
//     prediction reproduces the luma;
//   - Intra4x4 (vertical, horizontal, DC) when every 4x4 block equals its
//     prediction plus a constant, sent as a single DC level;
//   - I_PCM otherwise.
//
// Chroma is either predicted exactly or predicted up to a constant per 4x4
// quarter, sent as chroma DC levels; otherwise the macroblock is I_PCM. At
// QP 0 a DC level reproduces any constant exactly. This is cheap for
// synthetic pictures made of flat areas on a 4-pixel grid, and expensive
// (up to 384 bytes per macroblock) for camera noise.
package h264sw

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

// Errors returned by the encoder, wrapped with details.
var (
	ErrConfig = errors.New("h264sw: invalid config")
	ErrFrame  = errors.New("h264sw: unusable frame")
	ErrClosed = errors.New("h264sw: encoder closed")
)

// Size limits accepted by New.
const (
	MinSize = 16
	MaxSize = 4096
	MaxFPS  = 1000
)

// Config describes the stream to produce.
type Config struct {
	// Width and Height are the frame size in pixels: even, 16 to 4096.
	Width, Height int
	// FPS is the nominal frame rate, written into the SPS timing info and
	// used to choose the level.
	FPS int
	// GOP is the number of frames from one IDR to the next.
	// Zero means 2*FPS.
	GOP int
}

// validate checks c and fills defaults.
func (c *Config) validate() error {
	for _, d := range []struct {
		name string
		v    int
	}{{"width", c.Width}, {"height", c.Height}} {
		if d.v < MinSize || d.v > MaxSize {
			return fmt.Errorf("%w: %s %d outside %d..%d", ErrConfig, d.name, d.v, MinSize, MaxSize)
		}
		if d.v%2 != 0 {
			return fmt.Errorf("%w: %s %d is odd", ErrConfig, d.name, d.v)
		}
	}
	if c.FPS < 1 || c.FPS > MaxFPS {
		return fmt.Errorf("%w: fps %d outside 1..%d", ErrConfig, c.FPS, MaxFPS)
	}
	if c.GOP < 0 {
		return fmt.Errorf("%w: gop %d is negative", ErrConfig, c.GOP)
	}
	if c.GOP == 0 {
		c.GOP = 2 * c.FPS
	}
	return nil
}

// Encoder encodes frames of one size and rate. Its knobs are the keyframe
// and the frame rate: frames are dropped before they are encoded (going by
// their capture timestamps), so every P picture still refers to the last
// encoded one. The picture is lossless, so there is no bitrate or quality
// knob.
//
// Encode and Close must be called from one goroutine; ForceKeyframe,
// SetFramerate and ParameterSets from any.
type Encoder struct {
	cfg   Config
	dec   encode.Decimator
	g     geometry
	level uint8
	sps   []byte
	pps   []byte

	cur, prev picture
	hasPrev   bool
	closed    bool

	forceKey atomic.Bool
	sinceIDR int    // frames since the last IDR
	frameNum uint32 // frame_num of the next P picture
	idrPicID uint32

	bw    bitWriter
	nal   []byte
	nalus [3][]byte
	au    encode.AccessUnit
	// Intra4x4 modes and coefficient counts of the left macroblock's right
	// column of 4x4 blocks, and of the bottom row of the macroblocks above
	// (4 per macroblock column).
	leftModes [4]int8
	topModes  []int8
	leftNZ    [4]uint8
	topNZ     []uint8
	mb4       intra4
	chroma    chromaRes
	stats     Stats
}

var (
	_ encode.Encoder        = (*Encoder)(nil)
	_ encode.KeyframeForcer = (*Encoder)(nil)
	_ encode.Tunable        = (*Encoder)(nil)
)

// Stats counts pictures and macroblocks by how they were coded, since New.
type Stats struct {
	Frames, IDRs               uint64
	Skip, Intra16, Intra4, PCM uint64
	// ChromaDC counts intra macroblocks whose chroma carries DC levels.
	ChromaDC uint64
}

// New validates cfg and prepares an encoder, including its SPS and PPS.
func New(cfg Config) (*Encoder, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := newGeometry(cfg.Width, cfg.Height)
	lvl, err := chooseLevel(g.mbW, g.mbH, cfg.FPS)
	if err != nil {
		return nil, err
	}
	e := &Encoder{
		cfg:      cfg,
		g:        g,
		level:    lvl,
		cur:      newPicture(g),
		prev:     newPicture(g),
		topNZ:    make([]uint8, 4*g.mbW),
		topModes: make([]int8, 4*g.mbW),
	}
	e.sps = buildSPS(&e.bw, g, cfg.FPS, lvl)
	e.pps = buildPPS(&e.bw)
	// Worst case: every macroblock I_PCM (384 samples plus a few header bytes).
	worst := g.mbW*g.mbH*(384+8) + 64
	e.bw.buf = make([]byte, 0, worst)
	e.nal = make([]byte, 0, worst+worst/64)
	e.au.Codec = encode.H264
	return e, nil
}

// ParameterSets returns copies of the SPS and PPS NAL units (no start
// codes). They do not change during the encoder's life.
func (e *Encoder) ParameterSets() (sps, pps []byte) {
	return append([]byte(nil), e.sps...), append([]byte(nil), e.pps...)
}

// Level returns the level_idc written into the SPS.
func (e *Encoder) Level() uint8 { return e.level }

// Stats returns the counters; call it from the goroutine that calls Encode.
func (e *Encoder) Stats() Stats { return e.stats }

// ForceKeyframe makes the next encoded frame an IDR. It is safe to call
// from any goroutine.
func (e *Encoder) ForceKeyframe() { e.forceKey.Store(true) }

// Knobs reports the keyframe and the frame rate.
func (e *Encoder) Knobs() encode.Knob { return encode.KnobKeyframe | encode.KnobFramerate }

// SetBitrate returns encode.ErrNoKnob: the pictures are lossless.
func (e *Encoder) SetBitrate(int) error { return encode.ErrNoKnob }

// SetQuality returns encode.ErrNoKnob: the pictures are lossless.
func (e *Encoder) SetQuality(int) error { return encode.ErrNoKnob }

// SetFramerate drops frames from the next one on to keep at most fps
// frames per second.
func (e *Encoder) SetFramerate(fps int) error { return e.dec.SetRate(fps) }

// Close releases nothing (the encoder holds no OS resources) but makes
// further Encode calls fail.
func (e *Encoder) Close() error {
	e.closed = true
	return nil
}

// Encode codes one frame, or returns (nil, nil) for a frame dropped to
// keep the frame rate set by SetFramerate. The returned access unit and its
// NAL units are reused by the next call. Keyframes carry SPS, PPS and the IDR slice; other
// frames one P slice.
func (e *Encoder) Encode(f *capture.Frame) (*encode.AccessUnit, error) {
	if e.closed {
		return nil, ErrClosed
	}
	if err := checkFrame(f, e.g); err != nil {
		return nil, err
	}
	if !e.dec.Keep(f.Timestamp) {
		return nil, nil
	}
	e.cur.load(f, e.g)

	forced := e.forceKey.Swap(false)
	idr := forced || !e.hasPrev || e.sinceIDR >= e.cfg.GOP
	if idr {
		e.frameNum = 0
	}
	e.writeSlice(idr)

	typ, refIdc := byte(naluSlice), byte(refIdcP)
	if idr {
		typ, refIdc = naluIDR, refIdcHigh
	}
	e.nal = append(e.nal[:0], nalHeader(refIdc, typ))
	e.nal = appendEscaped(e.nal, e.bw.bytes())

	nalus := e.nalus[:0]
	if idr {
		nalus = append(nalus, e.sps, e.pps)
	}
	e.au.NALUs = append(nalus, e.nal)
	e.au.Timestamp = f.Timestamp
	e.au.Sequence = f.Sequence
	e.au.Keyframe = idr

	e.cur, e.prev = e.prev, e.cur
	e.hasPrev = true
	e.stats.Frames++
	if idr {
		e.stats.IDRs++
		e.idrPicID = (e.idrPicID + 1) & 0xffff
		e.sinceIDR = 0
	}
	e.sinceIDR++
	e.frameNum = (e.frameNum + 1) % (1 << log2MaxFrameNum)
	return &e.au, nil
}
