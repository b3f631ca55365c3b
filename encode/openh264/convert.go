package openh264

import (
	"fmt"

	"github.com/camagent/camagent/capture"
)

// load points e.pic's planes at f's pixels as I420: the frame's own planes
// for YU12; its luma and deinterleaved chroma for NV12; converted planes
// for YUYV (chroma of two rows averaged). The conversion buffer is
// allocated on first use and reused.
func (e *Encoder) load(f *capture.Frame) error {
	if f == nil {
		return fmt.Errorf("%w: nil frame", ErrFrame)
	}
	w, h := e.cfg.Width, e.cfg.Height
	if f.Width != w || f.Height != h {
		return fmt.Errorf("%w: frame is %dx%d, encoder %dx%d", ErrFrame, f.Width, f.Height, w, h)
	}
	cw, ch := w/2, h/2
	ySize, cSize := w*h, cw*ch
	need := ySize + 2*cSize
	if f.Format == capture.YUYV {
		need = 2 * ySize
	}
	switch f.Format {
	case capture.YU12, capture.NV12, capture.YUYV:
	default:
		return fmt.Errorf("%w: pixel format %s (want YU12, NV12 or YUYV)", ErrFrame, f.Format)
	}
	if len(f.Data) < need {
		return fmt.Errorf("%w: %d bytes for %dx%d %s, want %d", ErrFrame, len(f.Data), w, h, f.Format, need)
	}
	d := f.Data
	switch f.Format {
	case capture.YU12:
		e.pic.pData = [4]*byte{&d[0], &d[ySize], &d[ySize+cSize], nil}
	case capture.NV12:
		p := e.buffer()
		cb, cr := p[ySize:ySize+cSize], p[ySize+cSize:ySize+2*cSize]
		uv := d[ySize : ySize+2*cSize]
		for i := range cb {
			cb[i], cr[i] = uv[2*i], uv[2*i+1]
		}
		e.pic.pData = [4]*byte{&d[0], &cb[0], &cr[0], nil}
	case capture.YUYV:
		p := e.buffer()
		y, cb, cr := p[:ySize], p[ySize:ySize+cSize], p[ySize+cSize:ySize+2*cSize]
		yuyvToI420(y, cb, cr, d[:2*ySize], w, h)
		e.pic.pData = [4]*byte{&y[0], &cb[0], &cr[0], nil}
	}
	return nil
}

func (e *Encoder) buffer() []byte {
	if e.planes == nil {
		w, h := e.cfg.Width, e.cfg.Height
		e.planes = make([]byte, w*h+2*(w/2)*(h/2))
	}
	return e.planes
}

// yuyvToI420 unpacks packed 4:2:2 into I420 planes, averaging the chroma
// of each pair of rows (rounding up).
func yuyvToI420(y, cb, cr, src []byte, w, h int) {
	cw := w / 2
	for r := 0; r < h; r += 2 {
		a := src[2*w*r : 2*w*(r+1)]
		b := src[2*w*(r+1) : 2*w*(r+2)]
		ya, yb := y[w*r:w*(r+1)], y[w*(r+1):w*(r+2)]
		ucb, ucr := cb[cw*(r/2):cw*(r/2+1)], cr[cw*(r/2):cw*(r/2+1)]
		for i := range cw {
			pa, pb := a[4*i:4*i+4:4*i+4], b[4*i:4*i+4:4*i+4]
			ya[2*i], ya[2*i+1] = pa[0], pa[2]
			yb[2*i], yb[2*i+1] = pb[0], pb[2]
			ucb[i] = byte((uint(pa[1]) + uint(pb[1]) + 1) / 2)
			ucr[i] = byte((uint(pa[3]) + uint(pb[3]) + 1) / 2)
		}
	}
}
