// Package jpegsw is a pure-Go MJPEG encoder: it compresses raw YU12, NV12 or
// YUYV frames to baseline JPEG with image/jpeg, without going through RGB.
package jpegsw

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"sync/atomic"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

// DefaultQuality is the quality used when Config.Quality is zero.
const DefaultQuality = 80

// Errors returned by New, Encode and SetQuality.
var (
	ErrSize    = errors.New("jpegsw: unsupported frame size")
	ErrFormat  = errors.New("jpegsw: unsupported pixel format")
	ErrFrame   = errors.New("jpegsw: frame too short")
	ErrQuality = errors.New("jpegsw: quality out of range 1..100")
	ErrClosed  = errors.New("jpegsw: encoder closed")
)

// Config sets up an Encoder.
type Config struct {
	// Width and Height of the frames, even and below 65536. RFC 2435
	// (RTP/JPEG) needs multiples of 8 up to 2040; the RTP layer checks that.
	Width, Height int
	// Quality is the image/jpeg quality, 1..100 (default DefaultQuality).
	Quality int
}

// Encoder turns raw frames into JPEG access units. The picture buffers and
// the output buffer are allocated once and reused, so the access unit
// Encode returns is valid only until the next call.
//
// Its knobs are quality and frame rate (frames are dropped, going by their
// capture timestamps, to keep the rate at or below the target). Every JPEG
// is a keyframe, so it has no keyframe knob: ForceKeyframe does nothing.
//
// Encode must not be called concurrently; SetQuality, SetFramerate and
// Quality may be called from any goroutine, and take effect at the next
// Encode.
type Encoder struct {
	width, height int
	quality       atomic.Int32
	closed        atomic.Bool
	dec           encode.Decimator

	img    image.YCbCr // points into the frame (YU12) or into planes
	planes []byte      // converted planes for NV12 (chroma) and YUYV (all)
	out    outBuffer
	opts   jpeg.Options
	au     encode.AccessUnit
}

var (
	_ encode.Encoder = (*Encoder)(nil)
	_ encode.Tunable = (*Encoder)(nil)
)

// outBuffer is a bytes.Buffer with the Flush method image/jpeg looks for;
// without it, jpeg.Encode wraps the writer in a new bufio.Writer per call.
type outBuffer struct{ bytes.Buffer }

func (*outBuffer) Flush() error { return nil }

// New validates cfg and returns an encoder for frames of its size.
func New(cfg Config) (*Encoder, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0 ||
		cfg.Width >= 1<<16 || cfg.Height >= 1<<16 {
		return nil, fmt.Errorf("%w: %dx%d", ErrSize, cfg.Width, cfg.Height)
	}
	if cfg.Quality == 0 {
		cfg.Quality = DefaultQuality
	}
	e := &Encoder{width: cfg.Width, height: cfg.Height}
	if err := e.SetQuality(cfg.Quality); err != nil {
		return nil, err
	}
	return e, nil
}

// SetQuality changes the quality of the following frames.
func (e *Encoder) SetQuality(q int) error {
	if q < 1 || q > 100 {
		return fmt.Errorf("%w: %d", ErrQuality, q)
	}
	e.quality.Store(int32(q))
	return nil
}

// Knobs reports quality and frame rate.
func (e *Encoder) Knobs() encode.Knob { return encode.KnobQuality | encode.KnobFramerate }

// SetBitrate returns encode.ErrNoKnob: the size of a JPEG follows from its
// quality.
func (e *Encoder) SetBitrate(int) error { return encode.ErrNoKnob }

// SetFramerate drops frames from the next one on to keep at most fps
// frames per second.
func (e *Encoder) SetFramerate(fps int) error { return e.dec.SetRate(fps) }

// ForceKeyframe does nothing: every JPEG is a keyframe.
func (e *Encoder) ForceKeyframe() {}

// Quality reports the current quality.
func (e *Encoder) Quality() int { return int(e.quality.Load()) }

// Close makes later calls to Encode fail.
func (e *Encoder) Close() error {
	e.closed.Store(true)
	return nil
}

// Encode compresses f, or returns (nil, nil) for a frame dropped to keep
// the frame rate set by SetFramerate. The frame is not retained.
func (e *Encoder) Encode(f *capture.Frame) (*encode.AccessUnit, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	if f == nil {
		return nil, fmt.Errorf("%w: nil frame", ErrFrame)
	}
	if f.Width != e.width || f.Height != e.height {
		return nil, fmt.Errorf("%w: frame is %dx%d, encoder %dx%d", ErrSize, f.Width, f.Height, e.width, e.height)
	}
	if !e.dec.Keep(f.Timestamp) {
		return nil, nil
	}
	if err := e.wrap(f); err != nil {
		return nil, err
	}
	e.out.Reset()
	e.opts.Quality = int(e.quality.Load())
	err := jpeg.Encode(&e.out, &e.img, &e.opts)
	e.img.Y, e.img.Cb, e.img.Cr = nil, nil, nil // do not keep the frame alive
	if err != nil {
		return nil, fmt.Errorf("jpegsw: %w", err)
	}
	e.au = encode.AccessUnit{
		Codec:     encode.MJPEG,
		JPEG:      e.out.Bytes(),
		Timestamp: f.Timestamp,
		Sequence:  f.Sequence,
		Keyframe:  true,
	}
	return &e.au, nil
}

// wrap points e.img at f's pixels: the frame's own planes for YU12, the
// frame's luma and deinterleaved chroma for NV12, and deinterleaved 4:2:2
// planes for YUYV. image/jpeg reads *image.YCbCr directly and averages
// chroma down to the 4:2:0 it writes, so YUYV needs no arithmetic here.
func (e *Encoder) wrap(f *capture.Frame) error {
	w, h := e.width, e.height
	cw, ch := w/2, h/2
	ySize := w * h
	e.img.Rect = image.Rect(0, 0, w, h)
	e.img.YStride, e.img.CStride = w, cw
	switch f.Format {
	case capture.YU12:
		if err := need(f, ySize+2*cw*ch); err != nil {
			return err
		}
		d := f.Data
		e.img.SubsampleRatio = image.YCbCrSubsampleRatio420
		e.img.Y = d[:ySize:ySize]
		e.img.Cb = d[ySize : ySize+cw*ch : ySize+cw*ch]
		e.img.Cr = d[ySize+cw*ch : ySize+2*cw*ch : ySize+2*cw*ch]
	case capture.NV12:
		if err := need(f, ySize+2*cw*ch); err != nil {
			return err
		}
		cb, cr := e.chroma(cw * ch)
		uv := f.Data[ySize : ySize+2*cw*ch]
		for i := range cb {
			cb[i], cr[i] = uv[2*i], uv[2*i+1]
		}
		e.img.SubsampleRatio = image.YCbCrSubsampleRatio420
		e.img.Y = f.Data[:ySize:ySize]
		e.img.Cb, e.img.Cr = cb, cr
	case capture.YUYV:
		if err := need(f, 2*ySize); err != nil {
			return err
		}
		y := e.plane(0, ySize)
		cb, cr := e.chroma(cw * h)
		p := f.Data[:2*ySize]
		for i := range cb {
			q := p[4*i : 4*i+4 : 4*i+4]
			y[2*i], cb[i], y[2*i+1], cr[i] = q[0], q[1], q[2], q[3]
		}
		e.img.SubsampleRatio = image.YCbCrSubsampleRatio422
		e.img.Y, e.img.Cb, e.img.Cr = y, cb, cr
	default:
		return fmt.Errorf("%w: %s", ErrFormat, f.Format)
	}
	return nil
}

func need(f *capture.Frame, n int) error {
	if len(f.Data) < n {
		return fmt.Errorf("%w: %d bytes for %dx%d %s, want %d", ErrFrame, len(f.Data), f.Width, f.Height, f.Format, n)
	}
	return nil
}

// plane returns n bytes at off in e.planes, laid out as [Y (YUYV only) |
// Cb | Cr]. The planes are allocated on first use, large enough for any
// format (4:2:2 needs the most), and then reused.
func (e *Encoder) plane(off, n int) []byte {
	if e.planes == nil {
		e.planes = make([]byte, 2*e.width*e.height)
	}
	return e.planes[off : off+n : off+n]
}

// chroma returns the Cb and Cr planes of n bytes each, after the luma
// plane that YUYV needs.
func (e *Encoder) chroma(n int) (cb, cr []byte) {
	off := e.width * e.height
	return e.plane(off, n), e.plane(off+n, n)
}
