// Command camagent turns a Linux camera into an RTSP network camera.
// main only wires configuration to components: capture → encode → stream,
// with RTCP feedback flowing back through rtcpctl.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"golang.org/x/sync/errgroup"

	"github.com/camagent/camagent/pipeline"
	"github.com/camagent/camagent/stream"
	"github.com/camagent/camagent/stream/rtsp"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = ""
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "camagent:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	// SIGHUP does not reload: settings are read once at start-up. A closed
	// terminal must not stop the agent either. See docs/deploy.md.
	signal.Ignore(syscall.SIGHUP)
	cfg, fs, err := loadConfig(args, os.Stderr)
	if err != nil {
		return err
	}
	if fs.Lookup("version").Value.String() == "true" {
		fmt.Println(versionString())
		return nil
	}
	if cfg.ListDevices {
		return listDevices(os.Stdout)
	}
	log := newLogger(cfg.LogLevel)
	log.Info("starting", "version", versionString())

	src, err := openSource(cfg, log)
	if err != nil {
		return err
	}
	defer src.Close()
	enc, err := newEncoder(cfg, src, log)
	if err != nil {
		return err
	}
	defer enc.Close()

	mode := src.Mode()
	sps, pps := enc.parameterSets()
	st, err := stream.NewStream(stream.StreamConfig{
		Codec: enc.codec, Width: mode.Width, Height: mode.Height, FPS: mode.FPS,
		PayloadMaxSize: cfg.PayloadSize, SPS: sps, PPS: pps,
	})
	if err != nil {
		return err
	}
	feedback, err := newAdaptation(cfg, enc, mode, log)
	if err != nil {
		return err
	}

	var auth *rtsp.Authenticator
	if cfg.RTSPUser != "" {
		auth = &rtsp.Authenticator{User: cfg.RTSPUser, Pass: cfg.RTSPPass, Realm: "camagent", Method: cfg.RTSPAuth}
		if err := auth.Init(); err != nil {
			return fmt.Errorf("invalid CAMAGENT_RTSP_USER or CAMAGENT_RTSP_PASS: %w", err)
		}
	}
	var group netip.Addr
	if cfg.MulticastGroup != "" {
		group = netip.MustParseAddr(cfg.MulticastGroup)
	}
	srv, err := stream.NewServer(stream.Config{
		Addr:            cfg.RTSPAddr,
		Path:            "stream1",
		RTPPort:         cfg.RTPPort,
		Multicast:       stream.Multicast{Group: group, Port: cfg.MulticastPort, TTL: cfg.MulticastTTL, Interface: cfg.MulticastIface},
		Auth:            auth,
		SessionTimeout:  cfg.SessionTimeout,
		MaxSessions:     cfg.MaxSessions,
		Feedback:        feedback,
		RequestKeyframe: enc.forceKeyframe,
		Logger:          log.With("component", "rtsp"),
	}, st)
	if err != nil {
		if errors.Is(err, stream.ErrPrivilegedPort) {
			return fmt.Errorf("%w: use another port (CAMAGENT_RTSP_ADDR=:8554) or grant the capability (setcap cap_net_bind_service=+ep %s; the systemd unit has AmbientCapabilities=CAP_NET_BIND_SERVICE)", err, exePath())
		}
		return err
	}
	rtpPort, rtcpPort := srv.RTPPorts()
	for _, u := range streamURLs(srv.Addr()) {
		fmt.Printf("camagent: streaming %s (%s, %s) at %s\n", mode, cfg.Codec, sourceName(src), u)
	}
	log.Info("RTSP server ready", "addr", srv.Addr().String(), "rtp_port", rtpPort, "rtcp_port", rtcpPort)

	p := &pipeline.Pipeline{Source: withTestHooks(src, log), Encoder: enc, Sink: st, Logger: log.With("component", "capture")}
	sd, err := newNotifier(func() string {
		return fmt.Sprintf("streaming %s %s (%s) on %s; %d viewers", mode, cfg.Codec, sourceName(src), srv.Addr(), srv.Sessions())
	}, log.With("component", "systemd"))
	if err != nil {
		return err
	}
	if sd != nil {
		p.OnFrame = sd.OnFrame
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(ctx) })
	g.Go(func() error { return p.Run(ctx) })
	g.Go(func() error { return feedback.run(ctx, srv) })
	if sd != nil {
		g.Go(func() error { return sd.Run(ctx) })
	}
	err = g.Wait()
	log.Info("stopped")
	return err
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func versionString() string {
	target := runtime.GOOS + "/" + runtime.GOARCH
	c := commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOARM" {
				target += "v" + s.Value
			}
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("camagent %s (commit %s, %s, %s)", version, c, target, runtime.Version())
}

func exePath() string {
	p, err := os.Executable()
	if err != nil {
		return "camagent"
	}
	return p
}
