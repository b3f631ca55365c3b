package v4l2

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// NodeInfo describes one V4L2 device node, for -list-devices.
type NodeInfo struct {
	Path    string
	Card    string // the device's name
	Driver  string
	BusInfo string
	// Caps are the node's capabilities (V4L2_CAP_* of device_caps).
	Caps uint32
	// Capture: a streaming video capture node, which camagent can use.
	Capture bool
	// Catalog lists the formats, sizes and rates of a capture node.
	Catalog Catalog
	// Err says why the node could not be read.
	Err error
}

// Kind names what the node is: "video capture", "metadata capture",
// "memory-to-memory codec/converter", …
func (n NodeInfo) Kind() string { return kindOf(n.Caps) }

// CapNames lists the node's capabilities by name.
func (n NodeInfo) CapNames() []string {
	var out []string
	for _, c := range capNames {
		if n.Caps&c.bit != 0 {
			out = append(out, c.name)
		}
	}
	return out
}

var capNames = []struct {
	bit  uint32
	name string
}{
	{capVideoCapture, "video capture"},
	{capVideoCaptureMplane, "multi-planar video capture"},
	{capVideoOutput, "video output"},
	{capVideoOutputMplane, "multi-planar video output"},
	{capVideoM2M, "memory-to-memory"},
	{capVideoM2MMplane, "multi-planar memory-to-memory"},
	{capVideoOverlay, "overlay"},
	{capVBICapture, "VBI capture"},
	{capMetaCapture, "metadata capture"},
	{capMetaOutput, "metadata output"},
	{capSDRCapture, "SDR capture"},
	{capTouch, "touch"},
	{capTuner, "tuner"},
	{capAudio, "audio"},
	{capRadio, "radio"},
	{capReadWrite, "read/write"},
	{capStreaming, "streaming"},
	{capIOMC, "I/O media controller"},
}

// kindOf names what a node with capabilities c is.
func kindOf(c uint32) string {
	switch {
	case c&(capVideoM2M|capVideoM2MMplane) != 0:
		return "memory-to-memory codec/converter"
	case c&capVideoCapture != 0 && c&capStreaming == 0:
		return "video capture without streaming I/O"
	case c&capVideoCapture != 0:
		return "video capture"
	case c&capVideoCaptureMplane != 0:
		return "multi-planar video capture (not supported)"
	case c&capMetaCapture != 0:
		return "metadata capture"
	case c&(capVideoOutput|capVideoOutputMplane) != 0:
		return "video output"
	case c&capTouch != 0:
		return "touch sensor"
	case c&capSDRCapture != 0:
		return "SDR receiver"
	case c&(capVBICapture) != 0:
		return "VBI capture"
	case c&capRadio != 0:
		return "radio"
	}
	return "other"
}

// DeviceNodes lists /dev/video* in numeric order.
func DeviceNodes() []string {
	nodes, _ := filepath.Glob("/dev/video*")
	slices.SortFunc(nodes, func(a, b string) int {
		na, ea := strconv.Atoi(strings.TrimPrefix(a, "/dev/video"))
		nb, eb := strconv.Atoi(strings.TrimPrefix(b, "/dev/video"))
		if ea == nil && eb == nil {
			return na - nb
		}
		return strings.Compare(a, b)
	})
	return nodes
}

// ListDevices describes every /dev/video* node. Nodes that cannot be read
// are listed with Err set.
func ListDevices() []NodeInfo {
	var out []NodeInfo
	for _, path := range DeviceNodes() {
		out = append(out, Inspect(path))
	}
	return out
}

// Inspect describes one node.
func Inspect(path string) NodeInfo {
	n := NodeInfo{Path: path}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		n.Err = fmt.Errorf("v4l2: open %s: %w", path, err)
		return n
	}
	caps, err := queryCap(fd)
	unix.Close(fd)
	if err != nil {
		n.Err = fmt.Errorf("v4l2: %s: VIDIOC_QUERYCAP: %w", path, err)
		return n
	}
	n.Card, n.Driver, n.BusInfo = cstring(caps.Card[:]), cstring(caps.Driver[:]), cstring(caps.BusInfo[:])
	n.Caps = caps.nodeCaps()
	n.Capture = n.Caps&capVideoCapture != 0 && n.Caps&capStreaming != 0
	if !n.Capture {
		return n
	}
	dev, err := OpenDevice(path)
	if err != nil {
		n.Err = err
		return n
	}
	defer dev.Close()
	n.Catalog, n.Err = Describe(dev, 0, 0)
	return n
}
