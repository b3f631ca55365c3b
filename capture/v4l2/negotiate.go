package v4l2

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/camagent/camagent/capture"
)

// ErrMode: the camera cannot give the mode asked for. The error's text lists
// what it can give.
var ErrMode = errors.New("v4l2: mode not offered")

// Usable are the pixel formats camagent can stream or encode.
var Usable = []capture.PixelFormat{capture.H264, capture.MJPG, capture.JPEG, capture.YUYV, capture.NV12, capture.YU12}

// raw are the uncompressed formats the software encoders take, in the order
// they are preferred: YUYV is what every UVC webcam gives.
var raw = []capture.PixelFormat{capture.YUYV, capture.NV12, capture.YU12}

// Preference is the order pixel formats are tried in when the user names
// none: the codec itself when the camera gives it (codec "h264" or
// "mjpeg"), otherwise raw frames for the software encoder.
func Preference(codec string) []capture.PixelFormat {
	switch codec {
	case "mjpeg":
		return append([]capture.PixelFormat{capture.MJPG, capture.JPEG}, raw...)
	case "h264":
		return append([]capture.PixelFormat{capture.H264}, raw...)
	}
	return slices.Clone(raw)
}

// Catalog is everything a device offers: formats, their sizes, and the
// frame intervals of each size.
type Catalog []FormatModes

// FormatModes is one pixel format with its sizes.
type FormatModes struct {
	FormatDesc
	Sizes []SizeModes // empty when the driver does not enumerate sizes
}

// SizeModes is one frame size (or range) with its intervals.
type SizeModes struct {
	FrameSize
	// Intervals at this size; for a range, at the size Describe was asked
	// about (or its largest size). Empty when the driver does not say.
	Intervals []FrameInterval
}

// String is "640x480 @30,25 fps", "160x120-1920x1080 step 2x2 @1-30 fps".
func (s SizeModes) String() string { return sizeString(s.FrameSize) + rateString(s.Intervals) }

// Limits on what Describe reads from a driver.
const (
	maxFormats   = 256
	maxSizes     = 256
	maxIntervals = 256
)

// Describe reads the catalog of dev. For size ranges, intervals are read at
// w×h when the range holds it, otherwise at its largest size.
func Describe(dev Device, w, h int) (Catalog, error) {
	fmts, err := dev.Formats()
	if err != nil {
		return nil, err
	}
	fmts = fmts[:min(len(fmts), maxFormats)]
	cat := make(Catalog, 0, len(fmts))
	for _, fd := range fmts {
		sizes, err := dev.FrameSizes(fd.Format)
		if err != nil {
			return nil, err
		}
		fm := FormatModes{FormatDesc: fd}
		for _, s := range sizes[:min(len(sizes), maxSizes)] {
			iw, ih := s.MaxWidth, s.MaxHeight
			if s.Discrete() || s.Contains(w, h) {
				iw, ih = s.MinWidth, s.MinHeight
				if !s.Discrete() {
					iw, ih = w, h
				}
			}
			ivs, err := dev.FrameIntervals(fd.Format, iw, ih)
			if err != nil {
				return nil, err
			}
			fm.Sizes = append(fm.Sizes, SizeModes{FrameSize: s, Intervals: ivs[:min(len(ivs), maxIntervals)]})
		}
		cat = append(cat, fm)
	}
	return cat, nil
}

// Find returns the entry of format f.
func (c Catalog) Find(f capture.PixelFormat) (FormatModes, bool) {
	for _, fm := range c {
		if fm.Format == f {
			return fm, true
		}
	}
	return FormatModes{}, false
}

// Offers reports whether the format gives w×h at fps, as far as the driver
// says: a driver that does not enumerate sizes or intervals is taken at its
// word by VIDIOC_S_FMT and VIDIOC_S_PARM instead.
func (fm FormatModes) Offers(w, h, fps int) bool {
	if len(fm.Sizes) == 0 {
		return true
	}
	for _, s := range fm.Sizes {
		if !s.Contains(w, h) {
			continue
		}
		if len(s.Intervals) == 0 {
			return true
		}
		for _, iv := range s.Intervals {
			if iv.Allows(fps) {
				return true
			}
		}
	}
	return false
}

// Request is the mode the user asked for.
type Request struct {
	// Format is the pixel format the user named, 0 for none.
	Format capture.PixelFormat
	// Prefer is tried in order when Format is 0 (see Preference).
	Prefer             []capture.PixelFormat
	Width, Height, FPS int
}

func (r Request) String() string {
	f := "any of " + joinFormats(r.Prefer)
	if r.Format != 0 {
		f = r.Format.String()
	}
	return fmt.Sprintf("%dx%d %s @%d fps", r.Width, r.Height, f, r.FPS)
}

func joinFormats(fs []capture.PixelFormat) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.String()
	}
	return strings.Join(s, ",")
}

// Choose picks the pixel format for r from the catalog, or returns an
// ErrMode error whose one line lists what the device gives.
func Choose(cat Catalog, r Request, device string) (capture.PixelFormat, error) {
	cands := r.Prefer
	if r.Format != 0 {
		cands = []capture.PixelFormat{r.Format}
	}
	for _, f := range cands {
		if fm, ok := cat.Find(f); ok && fm.Offers(r.Width, r.Height, r.FPS) {
			return f, nil
		}
	}
	return 0, refusal(cat, r, device)
}

// refusal is the one-line error for a mode the device cannot give.
func refusal(cat Catalog, r Request, device string) error {
	return fmt.Errorf("%w: %s cannot capture %s; it gives %s", ErrMode, device, r, Offered(cat))
}

// Offered lists the usable modes of a catalog on one line, largest size
// first, formats that share a size and rates together:
// "1280x720 MJPG @30,15 fps; 640x480 YUYV,NV12 @30 fps".
func Offered(cat Catalog) string {
	type entry struct {
		area    int
		order   int
		size    string
		rates   string
		formats []string
	}
	var es []*entry
	others := 0
	add := func(area, order int, size, rates, format string) {
		for _, e := range es {
			if e.size == size && e.rates == rates {
				e.formats = append(e.formats, format)
				return
			}
		}
		es = append(es, &entry{area: area, order: order, size: size, rates: rates, formats: []string{format}})
	}
	for _, fm := range cat {
		order := slices.Index(Usable, fm.Format)
		if order < 0 {
			others++
			continue
		}
		if len(fm.Sizes) == 0 {
			add(0, order, "any size", "", fm.Format.String())
		}
		for _, s := range fm.Sizes {
			add(s.MaxWidth*s.MaxHeight, order, sizeString(s.FrameSize), rateString(s.Intervals), fm.Format.String())
		}
	}
	slices.SortStableFunc(es, func(a, b *entry) int {
		if a.area != b.area {
			return b.area - a.area
		}
		return a.order - b.order
	})
	parts := make([]string, len(es))
	for i, e := range es {
		slices.SortFunc(e.formats, func(a, b string) int {
			return slices.Index(Usable, capture.FourCC(a)) - slices.Index(Usable, capture.FourCC(b))
		})
		parts[i] = e.size + " " + strings.Join(e.formats, ",") + e.rates
	}
	s := strings.Join(parts, "; ")
	if len(es) == 0 {
		s = "none of the formats camagent takes (" + joinFormats(Usable) + ")"
	}
	if others > 0 {
		plural := "s"
		if others == 1 {
			plural = ""
		}
		s += fmt.Sprintf(" (and %d format%s camagent does not take; camagent -list-devices shows all)", others, plural)
	}
	return s
}

func sizeString(s FrameSize) string {
	if s.Discrete() {
		return fmt.Sprintf("%dx%d", s.MinWidth, s.MinHeight)
	}
	step := ""
	if s.StepWidth > 1 || s.StepHeight > 1 {
		step = fmt.Sprintf(" step %dx%d", s.StepWidth, s.StepHeight)
	}
	return fmt.Sprintf("%dx%d-%dx%d%s", s.MinWidth, s.MinHeight, s.MaxWidth, s.MaxHeight, step)
}

// rateString is " @30,15 fps", " @1-30 fps", or "" when unknown.
func rateString(ivs []FrameInterval) string {
	if len(ivs) == 0 {
		return ""
	}
	var rates []float64
	var ranges []string
	for _, iv := range ivs {
		if iv.Discrete() {
			if r := iv.Min.FPS(); r > 0 && !slices.Contains(rates, r) {
				rates = append(rates, r)
			}
			continue
		}
		ranges = append(ranges, fpsString(iv.Max.FPS())+"-"+fpsString(iv.Min.FPS()))
	}
	slices.SortFunc(rates, func(a, b float64) int {
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	parts := make([]string, 0, len(rates)+len(ranges))
	for _, r := range rates {
		parts = append(parts, fpsString(r))
	}
	parts = append(parts, ranges...)
	return " @" + strings.Join(parts, ",") + " fps"
}

func fpsString(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// rawSize is the size in bytes of one unpadded w×h frame of a raw format,
// 0 for a compressed one.
func rawSize(f capture.PixelFormat, w, h int) int {
	switch f {
	case capture.YUYV:
		return w * h * 2
	case capture.NV12, capture.YU12:
		return w*h + 2*((w+1)/2)*((h+1)/2)
	}
	return 0
}

// rawStride is the unpadded bytes per line of the first plane.
func rawStride(f capture.PixelFormat, w int) int {
	if f == capture.YUYV {
		return 2 * w
	}
	return w
}
