package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/camagent/camagent/encode/choose"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/capture/v4l2"
)

// Config is camagent's whole configuration. Each field is an environment
// variable CAMAGENT_<envconfig> and a command-line flag -<flag>; a flag wins
// over the environment.
type Config struct {
	Source string `envconfig:"SOURCE" flag:"source" default:"auto" desc:"frame source: auto (v4l2 if the device exists, else testsrc), v4l2, testsrc or file"`
	Device string `envconfig:"DEVICE" flag:"device" default:"/dev/video0" desc:"V4L2 capture device"`
	File   string `envconfig:"FILE" flag:"file" desc:"H.264 Annex-B or concatenated MJPEG file to loop, for SOURCE=file"`
	Codec  string `envconfig:"CODEC" flag:"codec" default:"h264" desc:"streamed codec: h264 or mjpeg"`
	Width  int    `envconfig:"WIDTH" flag:"width" default:"640" desc:"frame width in pixels"`
	Height int    `envconfig:"HEIGHT" flag:"height" default:"480" desc:"frame height in pixels"`
	FPS    int    `envconfig:"FPS" flag:"fps" default:"25" desc:"frames per second"`

	V4L2Format   string `envconfig:"V4L2_FORMAT" flag:"v4l2-format" desc:"camera pixel format: YUYV, NV12, YU12, MJPG, JPEG or H264; empty = the codec if the camera gives it, else raw"`
	V4L2Controls string `envconfig:"V4L2_CONTROLS" flag:"v4l2-controls" desc:"camera controls to set, e.g. brightness=128,auto_exposure=1 (names as v4l2-ctl -l prints them)"`
	ListDevices  bool   `envconfig:"LIST_DEVICES" flag:"list-devices" desc:"list every V4L2 device with its formats, sizes and frame rates, then exit"`

	Encoder     string `envconfig:"ENCODER" flag:"encoder" default:"auto" desc:"encoder: auto, passthrough, m2m, openh264, jpeg or h264sw (auto: the camera's own codec, else hardware, else software)"`
	Bitrate     int    `envconfig:"BITRATE" flag:"bitrate" default:"0" desc:"H.264 target bits per second for encoders with rate control (openh264, m2m); 0 = a default for the mode"`
	M2MDevice   string `envconfig:"M2M_DEVICE" flag:"m2m-device" desc:"V4L2 M2M hardware H.264 encoder node, e.g. /dev/video11; empty = the first one found"`
	JPEGQuality int    `envconfig:"JPEG_QUALITY" flag:"jpeg-quality" default:"80" desc:"software JPEG quality, 1-100"`
	GOP         int    `envconfig:"GOP" flag:"gop" default:"0" desc:"software H.264 frames between keyframes; 0 = 2 s worth"`

	RTSPAddr       string        `envconfig:"RTSP_ADDR" flag:"rtsp-addr" default:":554" desc:"RTSP listen address"`
	RTPPort        int           `envconfig:"RTP_PORT" flag:"rtp-port" default:"6970" desc:"UDP port for RTP (even; RTCP is the next port); 0 = any free pair"`
	PayloadSize    int           `envconfig:"PAYLOAD_SIZE" flag:"payload-size" default:"1200" desc:"RTP payload bytes per packet, 400-8000 (1200 fits IPv6 and tunnels)"`
	MulticastGroup string        `envconfig:"MULTICAST_GROUP" flag:"multicast-group" default:"239.255.0.1" desc:"IPv4 multicast group for multicast viewers; empty disables multicast"`
	MulticastPort  int           `envconfig:"MULTICAST_PORT" flag:"multicast-port" default:"5004" desc:"multicast RTP port (even; RTCP is the next port)"`
	MulticastTTL   int           `envconfig:"MULTICAST_TTL" flag:"multicast-ttl" default:"1" desc:"multicast TTL, 1-255 (1 = this network only)"`
	MulticastIface string        `envconfig:"MULTICAST_IFACE" flag:"multicast-iface" desc:"network interface for multicast; empty = the routing table's choice"`
	MaxSessions    int           `envconfig:"MAX_SESSIONS" flag:"max-sessions" default:"20" desc:"most viewers at once"`
	SessionTimeout time.Duration `envconfig:"SESSION_TIMEOUT" flag:"session-timeout" default:"60s" desc:"a viewer silent this long is dropped"`

	RTSPUser string `envconfig:"RTSP_USER" flag:"rtsp-user" desc:"user name viewers must give; empty = no authentication"`
	RTSPPass string `envconfig:"RTSP_PASS" flag:"rtsp-pass" desc:"password for RTSP_USER"`
	RTSPAuth string `envconfig:"RTSP_AUTH" flag:"rtsp-auth" default:"digest" desc:"authentication scheme: digest or basic"`

	Adapt           string `envconfig:"ADAPT" flag:"adapt" default:"on" desc:"rate adaptation to the viewers' links: on or off (off keeps fixed settings)"`
	AdaptMinFPS     int    `envconfig:"ADAPT_MIN_FPS" flag:"adapt-min-fps" default:"5" desc:"lowest frame rate adaptation may choose"`
	AdaptMinQuality int    `envconfig:"ADAPT_MIN_QUALITY" flag:"adapt-min-quality" default:"40" desc:"lowest JPEG quality adaptation may choose (MJPEG)"`
	AdaptMinBitrate int    `envconfig:"ADAPT_MIN_BITRATE" flag:"adapt-min-bitrate" default:"300000" desc:"lowest H.264 bitrate adaptation may choose at the full frame rate, in bits/s"`

	LogLevel string `envconfig:"LOG_LEVEL" flag:"log-level" default:"info" desc:"debug, info, warn or error"`
}

const envPrefix = "CAMAGENT"

// loadConfig reads the environment, then the command line, then validates.
// Every error names the setting, the value and what is accepted.
func loadConfig(args []string, usageOut io.Writer) (Config, *flag.FlagSet, error) {
	var cfg Config
	if err := envconfig.Process(envPrefix, &cfg); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return cfg, nil, fmt.Errorf("invalid %s=%q: want %s", pe.KeyName, pe.Value, kindOf(pe.TypeName))
		}
		return cfg, nil, err
	}
	fs := flag.NewFlagSet("camagent", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	bindFlags(fs, &cfg)
	fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(usageOut, "Usage: camagent [flags]\n\nEvery flag can also be set as an environment variable CAMAGENT_<NAME>.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, fs, err
	}
	return cfg, fs, cfg.validate()
}

func kindOf(typeName string) string {
	switch typeName {
	case "int":
		return "a whole number"
	case "Duration", "time.Duration":
		return "a duration such as 60s or 2m"
	case "bool":
		return "true or false"
	}
	return "a " + typeName
}

// bindFlags makes a flag for every field, defaulting to the value the
// environment (or the field's default) gave.
func bindFlags(fs *flag.FlagSet, cfg *Config) {
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("flag")
		usage := f.Tag.Get("desc") + " (" + envPrefix + "_" + f.Tag.Get("envconfig") + ")"
		switch p := v.Field(i).Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, name, *p, usage)
		case *int:
			fs.IntVar(p, name, *p, usage)
		case *time.Duration:
			fs.DurationVar(p, name, *p, usage)
		case *bool:
			fs.BoolVar(p, name, *p, usage)
		}
	}
}

type settingError struct{ env, value, want string }

func (e settingError) Error() string {
	return fmt.Sprintf("invalid %s_%s=%q: want %s", envPrefix, e.env, e.value, e.want)
}

func oneOf(env, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return settingError{env, value, "one of " + strings.Join(allowed, ", ")}
}

func inRangeOrZero(env string, value, lo, hi int) error {
	if value == 0 {
		return nil
	}
	if err := inRange(env, value, lo, hi); err != nil {
		return settingError{env, strconv.Itoa(value), fmt.Sprintf("0 (automatic) or %d to %d", lo, hi)}
	}
	return nil
}

func inRange(env string, value, lo, hi int) error {
	if value < lo || value > hi {
		return settingError{env, strconv.Itoa(value), fmt.Sprintf("%d to %d", lo, hi)}
	}
	return nil
}

func (c *Config) validate() error {
	c.Source = strings.ToLower(c.Source)
	c.Codec = strings.ToLower(c.Codec)
	c.Encoder = strings.ToLower(c.Encoder)
	c.RTSPAuth = strings.ToLower(c.RTSPAuth)
	c.LogLevel = strings.ToLower(c.LogLevel)
	c.Adapt = strings.ToLower(c.Adapt)
	checks := []error{
		oneOf("SOURCE", c.Source, "auto", "v4l2", "testsrc", "file"),
		oneOf("CODEC", c.Codec, "h264", "mjpeg"),
		inRange("WIDTH", c.Width, 64, 4096),
		inRange("HEIGHT", c.Height, 64, 2160),
		inRange("FPS", c.FPS, 1, 120),
		oneOf("ENCODER", c.Encoder, choose.Names...),
		inRangeOrZero("BITRATE", c.Bitrate, 16_000, 100_000_000),
		inRange("JPEG_QUALITY", c.JPEGQuality, 1, 100),
		inRange("GOP", c.GOP, 0, 3600),
		inRange("RTP_PORT", c.RTPPort, 0, 65534),
		inRange("PAYLOAD_SIZE", c.PayloadSize, 400, 8000),
		inRange("MAX_SESSIONS", c.MaxSessions, 1, 1000),
		inRange("MULTICAST_TTL", c.MulticastTTL, 1, 255),
		oneOf("RTSP_AUTH", c.RTSPAuth, "digest", "basic"),
		oneOf("LOG_LEVEL", c.LogLevel, "debug", "info", "warn", "error"),
		oneOf("ADAPT", c.Adapt, "on", "off"),
		inRange("ADAPT_MIN_FPS", c.AdaptMinFPS, 1, 120),
		inRange("ADAPT_MIN_QUALITY", c.AdaptMinQuality, 1, 100),
		inRange("ADAPT_MIN_BITRATE", c.AdaptMinBitrate, 10_000, 100_000_000),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if c.Width%2 != 0 {
		return settingError{"WIDTH", strconv.Itoa(c.Width), "an even number"}
	}
	if c.Height%2 != 0 {
		return settingError{"HEIGHT", strconv.Itoa(c.Height), "an even number"}
	}
	if c.RTPPort%2 != 0 {
		return settingError{"RTP_PORT", strconv.Itoa(c.RTPPort), "an even number (RTCP uses the next port)"}
	}
	if err := c.validateV4L2(); err != nil {
		return err
	}
	if c.Source == "file" && c.File == "" {
		return settingError{"FILE", "", "a path to an H.264 or MJPEG file when CAMAGENT_SOURCE=file"}
	}
	if c.SessionTimeout < 5*time.Second || c.SessionTimeout > time.Hour {
		return settingError{"SESSION_TIMEOUT", c.SessionTimeout.String(), "5s to 1h"}
	}
	if c.MulticastGroup != "" {
		g, err := netip.ParseAddr(c.MulticastGroup)
		if err != nil || !g.Is4() || !g.IsMulticast() {
			return settingError{"MULTICAST_GROUP", c.MulticastGroup, "an IPv4 multicast address (224.0.0.0-239.255.255.255), or empty to disable"}
		}
		if c.MulticastPort%2 != 0 || c.MulticastPort < 1024 || c.MulticastPort > 65534 {
			return settingError{"MULTICAST_PORT", strconv.Itoa(c.MulticastPort), "an even port from 1024 to 65534"}
		}
	}
	if c.Bitrate != 0 && c.AdaptMinBitrate > c.Bitrate {
		return settingError{"ADAPT_MIN_BITRATE", strconv.Itoa(c.AdaptMinBitrate), fmt.Sprintf("at most CAMAGENT_BITRATE (%d)", c.Bitrate)}
	}
	if (c.RTSPUser == "") != (c.RTSPPass == "") {
		return settingError{"RTSP_PASS", "(hidden)", "to be set together with CAMAGENT_RTSP_USER (both or neither)"}
	}
	return nil
}

func (c *Config) validateV4L2() error {
	c.V4L2Format = strings.ToUpper(c.V4L2Format)
	if c.V4L2Format != "" {
		f := capture.FourCC(c.V4L2Format)
		if len(c.V4L2Format) != 4 || !slices.Contains(v4l2.Usable, f) {
			return settingError{"V4L2_FORMAT", c.V4L2Format, "one of YUYV, NV12, YU12, MJPG, JPEG, H264, or empty to choose"}
		}
		if f.Compressed() && codecFor(f) != c.Codec {
			return settingError{"V4L2_FORMAT", c.V4L2Format, fmt.Sprintf("a raw format or %s with CAMAGENT_CODEC=%s (camera %s is streamed as is)", c.V4L2Format, codecFor(f), c.V4L2Format)}
		}
	}
	if _, err := v4l2.ParseControls(c.V4L2Controls); err != nil {
		return settingError{"V4L2_CONTROLS", c.V4L2Controls, "name=value pairs separated by commas, e.g. brightness=128,auto_exposure=1 (" + err.Error() + ")"}
	}
	return nil
}
