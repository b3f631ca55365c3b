package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/capture/filesrc"
	"github.com/camagent/camagent/capture/testsrc"
	"github.com/camagent/camagent/capture/v4l2"
	"github.com/camagent/camagent/encode"
	"github.com/camagent/camagent/encode/choose"
	"github.com/camagent/camagent/encode/m2m"
	"github.com/camagent/camagent/encode/openh264"
	"github.com/camagent/camagent/encode/passthrough"
	"github.com/camagent/camagent/stream/rtpjpeg"
)

func openSource(cfg Config, log *slog.Logger) (capture.Source, error) {
	switch cfg.Source {
	case "auto":
		if _, err := os.Stat(cfg.Device); err == nil {
			return openCamera(cfg, log)
		}
		log.Warn("no camera found; streaming the built-in test pattern", "device", cfg.Device)
		fallthrough
	case "testsrc":
		return testsrc.New(testsrc.Config{Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, Format: capture.YU12})
	case "file":
		src, err := filesrc.Open(filesrc.Config{Path: cfg.File, FPS: cfg.FPS})
		if err != nil {
			return nil, err
		}
		m := src.Mode()
		if want := codecFor(m.Format); want != cfg.Codec {
			src.Close()
			return nil, fmt.Errorf("invalid CAMAGENT_CODEC=%q: %s holds %s, which is streamed as is; set CAMAGENT_CODEC=%s", cfg.Codec, cfg.File, m.Format, want)
		}
		return src, nil
	case "v4l2":
		return openCamera(cfg, log)
	}
	return nil, fmt.Errorf("invalid CAMAGENT_SOURCE=%q", cfg.Source)
}

// openCamera opens the V4L2 camera at cfg.Device in the mode asked for.
func openCamera(cfg Config, log *slog.Logger) (capture.Source, error) {
	ctrls, err := v4l2.ParseControls(cfg.V4L2Controls)
	if err != nil {
		return nil, settingError{"V4L2_CONTROLS", cfg.V4L2Controls, err.Error()}
	}
	var format capture.PixelFormat
	if cfg.V4L2Format != "" {
		format = capture.FourCC(cfg.V4L2Format)
	}
	src, err := v4l2.Open(v4l2.Config{
		Device: cfg.Device, Format: format, Prefer: v4l2.Preference(cfg.Codec),
		Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS,
		Controls: ctrls, Logger: log.With("component", "v4l2"),
	})
	if err != nil {
		return nil, err
	}
	if m := src.Mode(); m.Format.Compressed() && codecFor(m.Format) != cfg.Codec {
		src.Close()
		return nil, fmt.Errorf("invalid CAMAGENT_CODEC=%q: %s gives %s, which is streamed as is; set CAMAGENT_CODEC=%s, or a raw CAMAGENT_V4L2_FORMAT", cfg.Codec, cfg.Device, m.Format, codecFor(m.Format))
	}
	return src, nil
}

func codecFor(f capture.PixelFormat) string {
	if f == capture.H264 {
		return "h264"
	}
	return "mjpeg"
}

func sourceName(src capture.Source) string {
	switch src.(type) {
	case *testsrc.Source:
		return "test pattern"
	case *filesrc.Source:
		return "file"
	case *v4l2.Source:
		return "camera"
	}
	return "camera"
}

// encoder is the chosen encode.Encoder plus what the stream needs to know of it.
type encoder struct {
	encode.Encoder
	codec   encode.Codec
	bitrate int // the H.264 target, for encoders with a bitrate knob
}

func (e encoder) forceKeyframe() {
	if kf, ok := e.Encoder.(encode.KeyframeForcer); ok {
		kf.ForceKeyframe()
	}
}

// ForceKeyframe makes encoder an encode.KeyframeForcer, so that the
// pipeline can ask for a keyframe when the camera comes back.
func (e encoder) ForceKeyframe() { e.forceKeyframe() }

var _ encode.KeyframeForcer = encoder{}

func (e encoder) parameterSets() (sps, pps []byte) {
	if p, ok := e.Encoder.(interface{ ParameterSets() ([]byte, []byte) }); ok {
		return p.ParameterSets()
	}
	return nil, nil
}

// The V4L2 M2M hardware encoder (the Raspberry Pi's bcm2835-codec) is
// what CAMAGENT_ENCODER=m2m, and auto for raw frames, try first.
func init() { choose.RegisterM2M(m2m.Finder) }

func newEncoder(cfg Config, src capture.Source, log *slog.Logger) (encoder, error) {
	m := src.Mode()
	codec := encode.H264
	if cfg.Codec == "mjpeg" {
		codec = encode.MJPEG
		if err := rtpjpeg.CheckMode(m.Width, m.Height); err != nil {
			return encoder{}, fmt.Errorf("invalid mode %dx%d for CAMAGENT_CODEC=mjpeg (%w): choose a smaller CAMAGENT_WIDTH/CAMAGENT_HEIGHT, or CAMAGENT_CODEC=h264", m.Width, m.Height, err)
		}
	}
	// The encoder starts at this bitrate, and rate adaptation climbs back to it.
	bitrate := cfg.Bitrate
	if bitrate == 0 {
		bitrate = openh264.DefaultBitrate(m.Width, m.Height, m.FPS)
	}
	e, choice, err := choose.Choose(choose.Request{
		Encoder: cfg.Encoder, Codec: codec, Mode: m,
		JPEGQuality: cfg.JPEGQuality, GOP: cfg.GOP, Bitrate: bitrate,
		M2MDevice: cfg.M2MDevice, Camera: cameraControls(src),
	})
	if err != nil {
		return encoder{}, fmt.Errorf("CAMAGENT_ENCODER=%s: %w", cfg.Encoder, err)
	}
	log.Info("encoder chosen", "encoder", choice.Name, "codec", codec.String(), "knobs", choice.Knobs.String(), "why", choice.Reason)
	return encoder{Encoder: e, codec: codec, bitrate: bitrate}, nil
}

// cameraControls are a camera's own codec controls, which passthrough
// turns as its knobs; nil for other sources.
func cameraControls(src capture.Source) passthrough.CameraControls {
	if s, ok := src.(*v4l2.Source); ok {
		return s.CodecControls()
	}
	return nil
}

// streamURLs lists the URLs a viewer can open: one per non-loopback
// address, or the loopback one when there is no other.
func streamURLs(addr net.Addr) []string {
	ta, _ := addr.(*net.TCPAddr)
	port := "554"
	if ta != nil {
		port = strconv.Itoa(ta.Port)
	}
	var hosts []string
	if ta != nil && !ta.IP.IsUnspecified() {
		hosts = append(hosts, ta.IP.String())
	} else if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
				hosts = append(hosts, ipn.IP.String())
			}
		}
	}
	if len(hosts) == 0 {
		hosts = append(hosts, "127.0.0.1")
	}
	urls := make([]string, len(hosts))
	for i, h := range hosts {
		urls[i] = "rtsp://" + net.JoinHostPort(h, port) + "/stream1"
	}
	return urls
}
