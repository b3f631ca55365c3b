package m2m

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
	"github.com/camagent/camagent/encode/choose"
)

// Nodes is the pattern of the nodes Find looks at.
var Nodes = "/dev/video*"

// maxNodes bounds the nodes Find opens.
const maxNodes = 64

// ErrNotFound is wrapped by Find when no node can encode; it wraps
// choose.ErrNoM2M.
var ErrNotFound = fmt.Errorf("m2m: %w", choose.ErrNoM2M)

// Find looks through the video nodes, in numeric order, for a multi-planar
// M2M device whose CAPTURE queue gives codec and whose OUTPUT queue takes
// input, and returns the first one's path and capabilities. open is
// OpenDevice when nil. The error names each node looked at and why it
// was passed over.
func Find(codec, input capture.PixelFormat, open func(string) (Device, error)) (string, Caps, error) {
	if open == nil {
		open = OpenDevice
	}
	paths, _ := filepath.Glob(Nodes)
	slices.SortFunc(paths, func(a, b string) int { return nodeNumber(a) - nodeNumber(b) })
	if len(paths) > maxNodes {
		paths = paths[:maxNodes]
	}
	var why []string
	for _, p := range paths {
		dev, err := open(p)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		caps := dev.Caps()
		err = Check(dev, codec, input)
		dev.Close()
		if err == nil {
			return p, caps, nil
		}
		why = append(why, fmt.Sprintf("%s: %s", p, strings.TrimPrefix(err.Error(), ErrNotEncoder.Error()+": ")))
	}
	if len(why) == 0 {
		return "", Caps{}, fmt.Errorf("%w for %s from %s: no %s", ErrNotFound, codec, input, Nodes)
	}
	return "", Caps{}, fmt.Errorf("%w for %s from %s (%s)", ErrNotFound, codec, input, strings.Join(why, "; "))
}

// nodeNumber is N of /dev/videoN (-1 for other names), so video10 sorts
// after video9.
func nodeNumber(p string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(p), "video"))
	if err != nil {
		return -1
	}
	return n
}

// Finder opens an H.264 M2M encoder for a choose.Request: the node in
// req.M2MDevice, or the first one Find finds. It is a choose.M2MFinder;
// main registers it with choose.RegisterM2M.
func Finder(req choose.Request) (encode.Encoder, string, error) {
	return finder(req, nil)
}

func finder(req choose.Request, open func(string) (Device, error)) (encode.Encoder, string, error) {
	m := req.Mode
	e, err := New(Config{
		Device: req.M2MDevice, Codec: capture.H264, Input: m.Format,
		Width: m.Width, Height: m.Height, FPS: m.FPS,
		Bitrate: req.Bitrate, GOP: req.GOP, Open: open,
	})
	if err != nil {
		return nil, "", err
	}
	c := e.Caps()
	desc := fmt.Sprintf("%s (%s) at %s", c.Card, c.Driver, e.Device())
	if e.bitrate.ok {
		desc += fmt.Sprintf(", %d kbit/s", e.cfg.Bitrate/1000)
	}
	return e, desc, nil
}
