// Package choose picks the encoder for a source and a requested codec
// (CAMAGENT_ENCODER), and says why, for the log.
//
// The names:
//
//   - auto (the default): passthrough when the source already gives the
//     requested codec; for MJPEG from raw frames, jpeg; for H.264 from raw
//     frames, the V4L2 M2M hardware encoder if one is found, else openh264
//     if the library loads, else h264sw.
//   - passthrough: the source's own H.264 or MJPEG, split and checked but
//     not re-encoded (encode/passthrough).
//   - m2m: a V4L2 memory-to-memory hardware H.264 encoder (the Raspberry
//     Pi's bcm2835-codec); found by the finder registered with RegisterM2M.
//   - openh264: Cisco's OpenH264 (libopenh264-7), software H.264 with
//     bitrate control (encode/openh264; needs the openh264 build tag).
//   - jpeg: pure-Go MJPEG from raw frames (encode/jpegsw).
//   - h264sw: the minimal pure-Go lossless H.264 encoder (encode/h264sw);
//     no C library, but a high bitrate: the last resort.
//
// A named encoder that cannot serve the request is an error saying why.
package choose

import (
	"errors"
	"fmt"
	"strings"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
	"github.com/camagent/camagent/encode/h264sw"
	"github.com/camagent/camagent/encode/jpegsw"
	"github.com/camagent/camagent/encode/openh264"
	"github.com/camagent/camagent/encode/passthrough"
)

// Encoder names (CAMAGENT_ENCODER values).
const (
	Auto        = "auto"
	Passthrough = "passthrough"
	M2M         = "m2m"
	OpenH264    = "openh264"
	JPEG        = "jpeg"
	H264SW      = "h264sw"
)

// Names lists the accepted names, auto first.
var Names = []string{Auto, Passthrough, M2M, OpenH264, JPEG, H264SW}

// Errors returned by Choose, wrapped with the reason.
var (
	ErrName        = errors.New("choose: unknown encoder")
	ErrUnavailable = errors.New("choose: encoder unavailable")
	// ErrNoM2M is what an M2M finder wraps when it finds no device.
	ErrNoM2M = errors.New("no V4L2 M2M H.264 encoder found")
)

// Request is what the encoder must do.
type Request struct {
	// Encoder is one of Names; "" means auto.
	Encoder string
	// Codec is the codec to stream: encode.H264 or encode.MJPEG.
	Codec encode.Codec
	// Mode is what the source delivers.
	Mode capture.Mode
	// JPEGQuality is the software JPEG quality, 1..100 (0: jpegsw's default).
	JPEGQuality int
	// GOP is the number of frames from one IDR to the next for the H.264
	// encoders (0: two seconds' worth).
	GOP int
	// Bitrate is the target in bit/s for the encoders with rate control,
	// openh264 and m2m (0: their default for the mode).
	Bitrate int
	// M2MDevice is the M2M encoder's device node ("": find it).
	M2MDevice string
	// Camera is the camera's own codec controls (v4l2.CodecControls), for
	// passthrough: the bitrate and keyframe knobs of H.264, the quality
	// knob of MJPEG, where the camera has them. nil: none. An H.264
	// camera with a bitrate control starts at Bitrate.
	Camera passthrough.CameraControls
}

// Choice says which encoder was chosen, why, and its knobs.
type Choice struct {
	Name   string
	Reason string
	Knobs  encode.Knob
}

// M2MFinder opens a V4L2 M2M H.264 encoder for req and describes it (for
// example "bcm2835-codec at /dev/video11"), or returns an error saying why
// there is none, wrapping ErrNoM2M when no device was found.
type M2MFinder func(req Request) (enc encode.Encoder, desc string, err error)

// Chooser holds the encoders that depend on the machine. Nil fields take
// the defaults: no M2M encoder, and OpenH264 through encode/openh264.
type Chooser struct {
	FindM2M     M2MFinder
	NewOpenH264 func(req Request) (enc encode.Encoder, desc string, err error)
}

// Default is the Chooser that Choose uses.
var Default = &Chooser{}

// RegisterM2M sets the M2M finder of Default; the M2M encoder package
// calls it (from main's wiring).
func RegisterM2M(f M2MFinder) { Default.FindM2M = f }

// Choose picks and opens the encoder for req with Default.
func Choose(req Request) (encode.Encoder, Choice, error) { return Default.Choose(req) }

func noM2M(Request) (encode.Encoder, string, error) {
	return nil, "", fmt.Errorf("%w (this build has no M2M encoder support yet)", ErrNoM2M)
}

func newOpenH264(req Request) (encode.Encoder, string, error) {
	v, err := openh264.Load()
	if err != nil {
		return nil, "", err
	}
	m := req.Mode
	e, err := openh264.New(openh264.Config{Width: m.Width, Height: m.Height, FPS: m.FPS, Bitrate: req.Bitrate, GOP: req.GOP})
	if err != nil {
		return nil, "", err
	}
	return e, fmt.Sprintf("OpenH264 %s, %d kbit/s", v, e.Bitrate()/1000), nil
}

// codecOf is the codec a compressed pixel format carries.
func codecOf(f capture.PixelFormat) encode.Codec {
	switch f {
	case capture.H264:
		return encode.H264
	case capture.MJPG, capture.JPEG:
		return encode.MJPEG
	}
	return 0
}

// Choose picks and opens the encoder for req.
func (c *Chooser) Choose(req Request) (encode.Encoder, Choice, error) {
	name := strings.ToLower(strings.TrimSpace(req.Encoder))
	if name == "" {
		name = Auto
	}
	known := false
	for _, n := range Names {
		known = known || n == name
	}
	if !known {
		return nil, Choice{}, fmt.Errorf("%w %q: want one of %s", ErrName, req.Encoder, strings.Join(Names, ", "))
	}
	if req.Codec != encode.H264 && req.Codec != encode.MJPEG {
		return nil, Choice{}, fmt.Errorf("%w: codec %v (want h264 or mjpeg)", ErrUnavailable, req.Codec)
	}
	src := req.Mode.Format
	if src.Compressed() {
		return c.compressed(name, req)
	}
	raw := fmt.Sprintf("the source gives raw %s", src)
	switch name {
	case Auto:
		if req.Codec == encode.MJPEG {
			return c.open(JPEG, req, raw+"; encoding JPEG in software")
		}
		return c.auto264(req, raw)
	case Passthrough:
		return nil, Choice{}, fmt.Errorf("%w: passthrough needs a source that gives %s, and %s", ErrUnavailable, req.Codec, raw)
	case JPEG:
		if req.Codec != encode.MJPEG {
			return nil, Choice{}, fmt.Errorf("%w: jpeg encodes MJPEG, and the codec asked for is %s (set the codec to mjpeg)", ErrUnavailable, req.Codec)
		}
		return c.open(JPEG, req, "asked for")
	}
	// m2m, openh264 and h264sw encode H.264.
	if req.Codec != encode.H264 {
		return nil, Choice{}, fmt.Errorf("%w: %s encodes H.264, and the codec asked for is %s (set the codec to h264, or the encoder to jpeg)", ErrUnavailable, name, req.Codec)
	}
	return c.open(name, req, "asked for")
}

// compressed serves a source that already encodes: passthrough only.
func (c *Chooser) compressed(name string, req Request) (encode.Encoder, Choice, error) {
	src := req.Mode.Format
	have := codecOf(src)
	if have != req.Codec {
		return nil, Choice{}, fmt.Errorf("%w: the source gives %s (%s), which camagent does not transcode: ask for %s, or for a raw format from the source", ErrUnavailable, have, src, have)
	}
	if name != Auto && name != Passthrough {
		return nil, Choice{}, fmt.Errorf("%w: %s encodes raw frames, and the source gives %s (use passthrough or auto, or a raw format from the source)", ErrUnavailable, name, src)
	}
	why := fmt.Sprintf("the source gives %s", have)
	if name == Passthrough {
		why = "asked for; " + why
	}
	return c.open(Passthrough, req, why)
}

// auto264 tries the H.264 encoders for raw frames, best first.
func (c *Chooser) auto264(req Request, raw string) (encode.Encoder, Choice, error) {
	var whyNot []string
	for _, name := range []string{M2M, OpenH264} {
		e, ch, err := c.open(name, req, raw)
		if err == nil {
			if len(whyNot) > 0 {
				ch.Reason += "; " + strings.Join(whyNot, "; ")
			}
			return e, ch, nil
		}
		whyNot = append(whyNot, unwrapChoose(err))
	}
	e, ch, err := c.open(H264SW, req, raw)
	if err == nil {
		ch.Reason += "; " + strings.Join(whyNot, "; ") + "; using the pure-Go encoder (lossless, high bitrate)"
	}
	return e, ch, err
}

// unwrapChoose drops this package's prefix from an open error, to fold it
// into a reason.
func unwrapChoose(err error) string {
	return strings.TrimPrefix(err.Error(), ErrUnavailable.Error()+": ")
}

// open starts the named encoder.
func (c *Chooser) open(name string, req Request, why string) (encode.Encoder, Choice, error) {
	m := req.Mode
	var (
		e    encode.Encoder
		desc string
		err  error
	)
	switch name {
	case Passthrough:
		e, desc = openPassthrough(req)
	case JPEG:
		e, err = jpegsw.New(jpegsw.Config{Width: m.Width, Height: m.Height, Quality: req.JPEGQuality})
	case H264SW:
		e, err = h264sw.New(h264sw.Config{Width: m.Width, Height: m.Height, FPS: m.FPS, GOP: req.GOP})
	case M2M:
		find := c.FindM2M
		if find == nil {
			find = noM2M
		}
		e, desc, err = find(req)
	case OpenH264:
		start := c.NewOpenH264
		if start == nil {
			start = newOpenH264
		}
		e, desc, err = start(req)
	}
	if err != nil {
		if strings.HasPrefix(err.Error(), name+":") {
			return nil, Choice{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil, Choice{}, fmt.Errorf("%w: %s: %w", ErrUnavailable, name, err)
	}
	reason := why
	if desc != "" {
		reason = why + "; " + desc
	}
	ch := Choice{Name: name, Reason: reason}
	if t, ok := e.(encode.Tunable); ok {
		ch.Knobs = t.Knobs()
	}
	return e, ch, nil
}

// openPassthrough starts passthrough with the camera's controls, if any,
// and says which of them it drives.
func openPassthrough(req Request) (encode.Encoder, string) {
	if req.Codec == encode.MJPEG {
		e := passthrough.NewMJPEGWith(req.Camera)
		if e.Knobs().Has(encode.KnobQuality) {
			return e, "the camera's JPEG quality control is the quality knob"
		}
		return e, ""
	}
	e := passthrough.NewH264With(req.Camera)
	k := e.Knobs()
	if k == 0 {
		return e, ""
	}
	desc := "the camera's " + k.String() + " controls are the knobs"
	if k.Has(encode.KnobBitrate) && req.Bitrate > 0 {
		if err := e.SetBitrate(req.Bitrate); err != nil {
			desc += fmt.Sprintf("; setting its bitrate to %d kbit/s failed: %v", req.Bitrate/1000, err)
		} else {
			desc += fmt.Sprintf("; its bitrate starts at %d kbit/s", req.Bitrate/1000)
		}
	}
	return e, desc
}
