package testsrc

import "github.com/camagent/camagent/capture"

// rect is a pixel rectangle.
type rect struct{ x, y, w, h int }

func (r rect) overlaps(o rect) bool {
	return r.x < o.x+o.w && o.x < r.x+r.w && r.y < o.y+o.h && o.y < r.y+r.h
}

// yuv is a colour in the frame's colour space.
type yuv struct{ y, cb, cr uint8 }

// canvas draws into frame buffers of one pixel format and size.
type canvas struct {
	format capture.PixelFormat
	w, h   int
	size   int // bytes in a frame
	cOff   int // YU12: start of Cb; NV12: start of CbCr
	crOff  int // YU12: start of Cr
}

func newCanvas(f capture.PixelFormat, w, h int) canvas {
	c := canvas{format: f, w: w, h: h}
	switch f {
	case capture.YUYV:
		c.size = 2 * w * h
	case capture.NV12:
		c.cOff = w * h
		c.size = w*h + w*h/2
	default: // YU12
		c.cOff = w * h
		c.crOff = w*h + w*h/4
		c.size = w*h + w*h/2
	}
	return c
}

func fillBytes(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

// fill paints r in colour col. r's x, y, w and h must be even.
func (c *canvas) fill(buf []byte, r rect, col yuv) {
	switch c.format {
	case capture.YUYV:
		for y := r.y; y < r.y+r.h; y++ {
			row := buf[y*2*c.w+2*r.x : y*2*c.w+2*(r.x+r.w)]
			for i := 0; i+3 < len(row); i += 4 {
				row[i], row[i+1], row[i+2], row[i+3] = col.y, col.cb, col.y, col.cr
			}
		}
		return
	case capture.NV12:
		c.fillLuma(buf, r, col.y)
		for y := r.y / 2; y < (r.y+r.h)/2; y++ {
			row := buf[c.cOff+y*c.w+r.x : c.cOff+y*c.w+r.x+r.w]
			for i := 0; i+1 < len(row); i += 2 {
				row[i], row[i+1] = col.cb, col.cr
			}
		}
	default:
		c.fillLuma(buf, r, col.y)
		cw := c.w / 2
		for y := r.y / 2; y < (r.y+r.h)/2; y++ {
			o := y*cw + r.x/2
			fillBytes(buf[c.cOff+o:c.cOff+o+r.w/2], col.cb)
			fillBytes(buf[c.crOff+o:c.crOff+o+r.w/2], col.cr)
		}
	}
}

// fillLuma paints the luma of r, leaving its chroma alone.
func (c *canvas) fillLuma(buf []byte, r rect, v byte) {
	if c.format == capture.YUYV {
		for y := r.y; y < r.y+r.h; y++ {
			row := buf[y*2*c.w+2*r.x : y*2*c.w+2*(r.x+r.w)]
			for i := 0; i < len(row); i += 2 {
				row[i] = v
			}
		}
		return
	}
	for y := r.y; y < r.y+r.h; y++ {
		fillBytes(buf[y*c.w+r.x:y*c.w+r.x+r.w], v)
	}
}

// copyRect copies r from src to dst. r's x, y, w and h must be even.
func (c *canvas) copyRect(dst, src []byte, r rect) {
	switch c.format {
	case capture.YUYV:
		for y := r.y; y < r.y+r.h; y++ {
			o := y*2*c.w + 2*r.x
			copy(dst[o:o+2*r.w], src[o:o+2*r.w])
		}
		return
	case capture.NV12:
		for y := r.y / 2; y < (r.y+r.h)/2; y++ {
			o := c.cOff + y*c.w + r.x
			copy(dst[o:o+r.w], src[o:o+r.w])
		}
	default:
		cw := c.w / 2
		for y := r.y / 2; y < (r.y+r.h)/2; y++ {
			o := y*cw + r.x/2
			copy(dst[c.cOff+o:c.cOff+o+r.w/2], src[c.cOff+o:c.cOff+o+r.w/2])
			copy(dst[c.crOff+o:c.crOff+o+r.w/2], src[c.crOff+o:c.crOff+o+r.w/2])
		}
	}
	for y := r.y; y < r.y+r.h; y++ {
		o := y*c.w + r.x
		copy(dst[o:o+r.w], src[o:o+r.w])
	}
}
