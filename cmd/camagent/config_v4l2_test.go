package main

import (
	"io"
	"strings"
	"testing"
)

func TestV4L2Settings(t *testing.T) {
	clearEnv(t)
	t.Setenv("CAMAGENT_V4L2_FORMAT", "yuyv")
	t.Setenv("CAMAGENT_V4L2_CONTROLS", "brightness=128, auto_exposure=1")
	cfg, _, err := loadConfig([]string{"-list-devices"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.V4L2Format != "YUYV" || cfg.V4L2Controls != "brightness=128, auto_exposure=1" || !cfg.ListDevices {
		t.Fatalf("%+v", cfg)
	}
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"CAMAGENT_V4L2_FORMAT": "RGB3"}, `invalid CAMAGENT_V4L2_FORMAT="RGB3": want one of YUYV, NV12, YU12, MJPG, JPEG, H264`},
		{map[string]string{"CAMAGENT_V4L2_FORMAT": "MJPG"}, `invalid CAMAGENT_V4L2_FORMAT="MJPG": want a raw format or MJPG with CAMAGENT_CODEC=mjpeg`},
		{map[string]string{"CAMAGENT_V4L2_FORMAT": "H264", "CAMAGENT_CODEC": "mjpeg"}, `invalid CAMAGENT_V4L2_FORMAT="H264": want a raw format or H264 with CAMAGENT_CODEC=h264`},
		{map[string]string{"CAMAGENT_V4L2_CONTROLS": "brightness"}, `invalid CAMAGENT_V4L2_CONTROLS="brightness": want name=value pairs`},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, _, err := loadConfig(nil, io.Discard)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want %q…", err, c.want)
			}
		})
	}
	// MJPG with mjpeg is fine.
	clearEnv(t)
	t.Setenv("CAMAGENT_V4L2_FORMAT", "MJPG")
	t.Setenv("CAMAGENT_CODEC", "mjpeg")
	if _, _, err := loadConfig(nil, io.Discard); err != nil {
		t.Fatal(err)
	}
}
