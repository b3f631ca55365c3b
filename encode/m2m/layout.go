package m2m

import (
	"fmt"

	"github.com/camagent/camagent/capture"
)

// rawLayout is where the planes of one raw frame go in an Output buffer:
// the driver may pad lines (bytesperline) and the luma plane's height
// (drivers that align it report a sizeimage to match, e.g. 16 lines on
// the Raspberry Pi's codec).
type rawLayout struct {
	format        capture.PixelFormat
	width, height int // of the frames
	stride        int // bytes per luma (or packed) line in the buffer
	slice         int // lines of the luma plane in the buffer
	size          int // bytes the driver wants (sizeimage)
}

// rawFrameSize is the size of a tightly packed w×h frame of format f.
func rawFrameSize(f capture.PixelFormat, w, h int) int {
	switch f {
	case capture.YUYV:
		return 2 * w * h
	case capture.YU12, capture.NV12:
		return w*h + 2*(w/2)*(h/2)
	}
	return 0
}

// newLayout derives the layout of frames w×h of format f in the Output
// buffers of format of.
func newLayout(f capture.PixelFormat, w, h int, of Format) (rawLayout, error) {
	l := rawLayout{format: f, width: w, height: h, stride: of.BytesPerLine, slice: of.Height, size: of.SizeImage}
	minStride := w
	if f == capture.YUYV {
		minStride = 2 * w
	}
	if l.stride == 0 {
		l.stride = minStride
	}
	if l.stride < minStride || l.slice < h {
		return l, fmt.Errorf("m2m: OUTPUT format %dx%d, %d bytes per line, too small for %dx%d %s", of.Width, of.Height, of.BytesPerLine, w, h, f)
	}
	if f != capture.YUYV && l.stride*3/2 > 0 {
		// 4:2:0: a sizeimage beyond the reported height means a
		// taller luma plane.
		if s := l.size * 2 / (3 * l.stride); s > l.slice {
			l.slice = s
		}
	}
	if l.need() > l.size {
		return l, fmt.Errorf("m2m: OUTPUT buffers of %d bytes, %d needed for %dx%d %s with %d bytes per line", l.size, l.need(), w, h, f, l.stride)
	}
	return l, nil
}

// need is the bytes the planes take in the buffer.
func (l rawLayout) need() int {
	switch l.format {
	case capture.YUYV:
		return l.stride * l.slice
	case capture.YU12:
		return l.stride*l.slice + 2*(l.stride/2)*(l.slice/2)
	}
	return l.stride*l.slice + l.stride*(l.slice/2) // NV12
}

// tight reports whether the buffer's layout is the frame's own.
func (l rawLayout) tight() bool {
	minStride := l.width
	if l.format == capture.YUYV {
		minStride = 2 * l.width
	}
	return l.stride == minStride && l.slice == l.height
}

// copyFrame writes the tightly packed frame src into dst laid out as l and
// returns the bytes used. It does not allocate.
func (l rawLayout) copyFrame(dst, src []byte) int {
	if l.tight() {
		n := rawFrameSize(l.format, l.width, l.height)
		copy(dst, src[:n])
		return l.size
	}
	w, h := l.width, l.height
	switch l.format {
	case capture.YUYV:
		copyPlane(dst, l.stride, src, 2*w, h)
	case capture.YU12:
		copyPlane(dst, l.stride, src, w, h)
		cs, cw, ch := l.stride/2, w/2, h/2
		dCb := l.stride * l.slice
		dCr := dCb + cs*(l.slice/2)
		sCb := w * h
		sCr := sCb + cw*ch
		copyPlane(dst[dCb:], cs, src[sCb:], cw, ch)
		copyPlane(dst[dCr:], cs, src[sCr:], cw, ch)
	case capture.NV12:
		copyPlane(dst, l.stride, src, w, h)
		copyPlane(dst[l.stride*l.slice:], l.stride, src[w*h:], w, h/2)
	}
	return l.size
}

// copyPlane copies rows lines of width bytes from the packed src into dst
// with stride dstStride.
func copyPlane(dst []byte, dstStride int, src []byte, width, rows int) {
	for r := range rows {
		copy(dst[r*dstStride:r*dstStride+width], src[r*width:(r+1)*width])
	}
}
