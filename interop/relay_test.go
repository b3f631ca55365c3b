//go:build camagent_relay

// The relay test runs with `make test-relay` (part of `make test`), whose
// dependency step installs GStreamer's RTSP server for Python.

package interop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// relayScript is the GStreamer RTSP server relay of docs/deploy.md, with
// the upstream URL and the port from the environment: one shared pull from
// camagent, however many viewers.
const relayScript = `import os, gi
gi.require_version("Gst", "1.0"); gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer, GLib
Gst.init(None)
server = GstRtspServer.RTSPServer.new()
server.set_address("127.0.0.1")
server.set_service(os.environ["RELAY_PORT"])
f = GstRtspServer.RTSPMediaFactory.new()
f.set_launch("( rtspsrc location=%s protocols=tcp latency=200 "
             "! rtph264depay ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 )" % os.environ["UPSTREAM"])
f.set_shared(True)
server.get_mount_points().add_factory("/garden", f)
server.attach(None)
GLib.MainLoop().run()
`

// TestRelayThroughGStreamerRTSPServer: three viewers watch camagent
// through a relay; each decodes consecutive test-pattern frames, and
// camagent serves exactly one viewer (the relay).
func TestRelayThroughGStreamerRTSPServer(t *testing.T) {
	ffmpeg := requireTool(t, "ffmpeg")
	py := "/usr/bin/python3" // Debian's, with gi (another python3 may lack it)
	check := exec.Command(py, "-c", `import gi; gi.require_version("GstRtspServer", "1.0"); from gi.repository import GstRtspServer`)
	if out, err := check.CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("GStreamer's RTSP server for Python is missing; make test-relay installs it: %v\n%s", err, out)
		}
		t.Skipf("GStreamer's RTSP server for Python is missing (make deploy-deps): %s", out)
	}

	a := startAgent(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "relay.py")
	if err := os.WriteFile(script, []byte(relayScript), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freeTCPPort(t)
	relay := exec.Command(py, script)
	relay.Env = append(os.Environ(), "UPSTREAM="+a.URL, fmt.Sprintf("RELAY_PORT=%d", port))
	var relayLog syncBuffer
	relay.Stdout, relay.Stderr = &relayLog, &relayLog
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		relay.Process.Kill()
		relay.Wait()
		if t.Failed() {
			t.Logf("relay log:\n%s", relayLog.String())
		}
	})
	dialListener(t, fmt.Sprintf("127.0.0.1:%d", port))
	url := fmt.Sprintf("rtsp://127.0.0.1:%d/garden", port)

	const viewers, frames = 3, 50
	var wg sync.WaitGroup
	results := make([][]byte, viewers)
	errs := make([]error, viewers)
	for i := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
				"-frames:v", fmt.Sprint(frames), "-f", "rawvideo", "-pix_fmt", "gray", "-")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("viewer %d: %v\n%s", i, err, stderr.String())
				return
			}
			results[i] = stdout.Bytes()
		}()
	}
	wg.Wait()
	for i := range viewers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		checkConsecutive(t, frameNumbers(t, results[i], 320, 240), frames)
	}
	if n := strings.Count(a.logs.String(), "viewer playing"); n != 1 {
		t.Errorf("camagent served %d viewers, want 1 (the relay)", n)
	}
}
