package main

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	clearEnv(t)
	cfg, _, err := loadConfig(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Source != "auto" || cfg.Device != "/dev/video0" || cfg.Codec != "h264" || cfg.RTSPAddr != ":554" ||
		cfg.RTSPAuth != "digest" || cfg.SessionTimeout != 60*time.Second || cfg.PayloadSize != 1200 || cfg.FPS != 25 {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestFlagBeatsEnvironment(t *testing.T) {
	clearEnv(t)
	t.Setenv("CAMAGENT_FPS", "15")
	t.Setenv("CAMAGENT_CODEC", "mjpeg")
	cfg, _, err := loadConfig([]string{"-fps", "10"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.FPS != 10 || cfg.Codec != "mjpeg" {
		t.Fatalf("fps %d codec %s", cfg.FPS, cfg.Codec)
	}
}

// Every bad setting stops start-up with one line naming the variable, the
// value and what is accepted.
func TestBadSettingsAreNamed(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env: map[string]string{"CAMAGENT_FPS": "fast"}, want: `invalid CAMAGENT_FPS="fast": want a whole number`},
		{env: map[string]string{"CAMAGENT_FPS": "500"}, want: `invalid CAMAGENT_FPS="500": want 1 to 120`},
		{env: map[string]string{"CAMAGENT_CODEC": "vp8"}, want: `invalid CAMAGENT_CODEC="vp8": want one of h264, mjpeg`},
		{env: map[string]string{"CAMAGENT_SOURCE": "usb"}, want: `invalid CAMAGENT_SOURCE="usb": want one of auto, v4l2, testsrc, file`},
		{env: map[string]string{"CAMAGENT_WIDTH": "641"}, want: `invalid CAMAGENT_WIDTH="641": want an even number`},
		{env: map[string]string{"CAMAGENT_RTP_PORT": "6971"}, want: `invalid CAMAGENT_RTP_PORT="6971": want an even number`},
		{env: map[string]string{"CAMAGENT_RTSP_AUTH": "ntlm"}, want: `invalid CAMAGENT_RTSP_AUTH="ntlm": want one of digest, basic`},
		{env: map[string]string{"CAMAGENT_SESSION_TIMEOUT": "soon"}, want: `invalid CAMAGENT_SESSION_TIMEOUT="soon": want a duration`},
		{env: map[string]string{"CAMAGENT_SESSION_TIMEOUT": "1s"}, want: `invalid CAMAGENT_SESSION_TIMEOUT="1s": want 5s to 1h`},
		{env: map[string]string{"CAMAGENT_MULTICAST_GROUP": "10.0.0.1"}, want: `invalid CAMAGENT_MULTICAST_GROUP="10.0.0.1": want an IPv4 multicast address`},
		{env: map[string]string{"CAMAGENT_SOURCE": "file"}, want: `invalid CAMAGENT_FILE="": want a path`},
		{env: map[string]string{"CAMAGENT_RTSP_USER": "bob"}, want: `invalid CAMAGENT_RTSP_PASS="(hidden)"`},
		{env: map[string]string{"CAMAGENT_LOG_LEVEL": "loud"}, want: `invalid CAMAGENT_LOG_LEVEL="loud": want one of debug, info, warn, error`},
		{args: []string{"-payload-size", "100"}, want: `invalid CAMAGENT_PAYLOAD_SIZE="100": want 400 to 8000`},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, _, err := loadConfig(c.args, io.Discard)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %v, want %q…", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

func TestHelpListsEverySetting(t *testing.T) {
	clearEnv(t)
	var out strings.Builder
	_, _, err := loadConfig([]string{"-help"}, &out)
	if err == nil {
		t.Fatal("-help should stop")
	}
	for _, want := range []string{"-rtsp-addr", "CAMAGENT_RTSP_ADDR", `(default ":554")`, "-codec", "CAMAGENT_CODEC", "-rtsp-auth", "CAMAGENT_SESSION_TIMEOUT"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-help lacks %q:\n%s", want, out.String())
		}
	}
}

// clearEnv unsets every CAMAGENT_ variable for the test (t.Setenv restores
// them afterwards; envconfig treats an empty variable as set).
func clearEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, envPrefix+"_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}
