package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/camagent/camagent/capture/v4l2"
)

// listDevices prints every /dev/video* node for -list-devices: name, driver,
// capabilities, and for capture nodes each format with its sizes and frame
// rates, much as `v4l2-ctl --list-formats-ext` does.
func listDevices(w io.Writer) error {
	nodes := v4l2.ListDevices()
	if len(nodes) == 0 {
		fmt.Fprintln(w, "no V4L2 devices (/dev/video*) found")
		return nil
	}
	for _, n := range nodes {
		writeNode(w, n)
	}
	return nil
}

func writeNode(w io.Writer, n v4l2.NodeInfo) {
	if n.Card == "" && n.Err != nil {
		fmt.Fprintf(w, "%s: cannot read: %v\n\n", n.Path, n.Err)
		return
	}
	fmt.Fprintf(w, "%s: %s (driver %s, bus %s)\n", n.Path, n.Card, n.Driver, n.BusInfo)
	fmt.Fprintf(w, "\tcapabilities: %s\n", strings.Join(n.CapNames(), ", "))
	if !n.Capture {
		fmt.Fprintf(w, "\t%s: not a video capture device; camagent cannot use it\n\n", n.Kind())
		return
	}
	fmt.Fprintf(w, "\tvideo capture: CAMAGENT_DEVICE=%s\n", n.Path)
	if n.Err != nil {
		fmt.Fprintf(w, "\tcannot list formats: %v\n\n", n.Err)
		return
	}
	// The formats camagent takes in full, like v4l2-ctl --list-formats-ext;
	// the others (vivid has 80) by name only.
	var others []string
	for i, f := range n.Catalog {
		if !usable(f) {
			others = append(others, fmt.Sprintf("'%s' (%s)", f.Format, f.Description))
			continue
		}
		fmt.Fprintf(w, "\t[%d]: '%s' (%s)\n", i, f.Format, f.Description)
		if len(f.Sizes) == 0 {
			fmt.Fprintf(w, "\t\tany size (the driver does not list them)\n")
		}
		for _, s := range f.Sizes {
			fmt.Fprintf(w, "\t\t%s\n", s)
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(w, "\tformats camagent does not take: %s\n", strings.Join(others, ", "))
	}
	fmt.Fprintln(w)
}

func usable(f v4l2.FormatModes) bool {
	for _, u := range v4l2.Usable {
		if f.Format == u {
			return true
		}
	}
	return false
}
