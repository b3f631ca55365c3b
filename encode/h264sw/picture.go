package h264sw

import (
	"bytes"
	"fmt"

	"github.com/camagent/camagent/capture"
)

// geometry is the visible size and the macroblock-aligned coded size.
type geometry struct {
	width, height int // visible (cropped) size
	padW, padH    int // coded size, multiples of 16
	mbW, mbH      int // size in macroblocks
}

func newGeometry(w, h int) geometry {
	g := geometry{width: w, height: h, mbW: (w + 15) / 16, mbH: (h + 15) / 16}
	g.padW, g.padH = g.mbW*16, g.mbH*16
	return g
}

// picture is an I420 image at the coded (padded) size. Since every
// macroblock is coded losslessly, it is also exactly what a decoder
// reconstructs, so it serves as the reference for the next frame.
type picture struct {
	y, cb, cr []byte
	stride    int // luma stride (padW); chroma stride is stride/2
}

func newPicture(g geometry) picture {
	return picture{
		y:      make([]byte, g.padW*g.padH),
		cb:     make([]byte, g.padW*g.padH/4),
		cr:     make([]byte, g.padW*g.padH/4),
		stride: g.padW,
	}
}

// frameSize returns the number of bytes a tightly packed frame of format
// f needs, or 0 when the format is not supported.
func frameSize(f capture.PixelFormat, w, h int) int {
	switch f {
	case capture.YU12, capture.NV12:
		return w*h + 2*(w/2)*(h/2)
	case capture.YUYV:
		return 2 * w * h
	}
	return 0
}

// checkFrame reports why f cannot be encoded with geometry g.
func checkFrame(f *capture.Frame, g geometry) error {
	if f == nil {
		return fmt.Errorf("%w: nil frame", ErrFrame)
	}
	if f.Width != g.width || f.Height != g.height {
		return fmt.Errorf("%w: frame is %dx%d, encoder configured for %dx%d", ErrFrame, f.Width, f.Height, g.width, g.height)
	}
	n := frameSize(f.Format, g.width, g.height)
	if n == 0 {
		return fmt.Errorf("%w: unsupported pixel format %s (want YU12, NV12 or YUYV)", ErrFrame, f.Format)
	}
	if len(f.Data) < n {
		return fmt.Errorf("%w: %s %dx%d frame has %d bytes, need %d", ErrFrame, f.Format, g.width, g.height, len(f.Data), n)
	}
	return nil
}

// load converts a checked frame into p: planes are copied (or
// deinterleaved/subsampled), zero samples become 1 (I_PCM samples of 0 are
// forbidden by the original H.264 edition), and the padding right and below
// the visible area repeats the edge samples so that edge macroblocks stay
// predictable.
func (p *picture) load(f *capture.Frame, g geometry) {
	w, h := g.width, g.height
	cw, ch := w/2, h/2
	cs := p.stride / 2
	d := f.Data
	switch f.Format {
	case capture.YU12:
		for r := 0; r < h; r++ {
			copy(p.y[r*p.stride:], d[r*w:(r+1)*w])
		}
		u, v := d[w*h:], d[w*h+cw*ch:]
		for r := 0; r < ch; r++ {
			copy(p.cb[r*cs:], u[r*cw:(r+1)*cw])
			copy(p.cr[r*cs:], v[r*cw:(r+1)*cw])
		}
	case capture.NV12:
		for r := 0; r < h; r++ {
			copy(p.y[r*p.stride:], d[r*w:(r+1)*w])
		}
		uv := d[w*h:]
		for r := 0; r < ch; r++ {
			src := uv[r*w : (r+1)*w]
			cb, cr := p.cb[r*cs:r*cs+cw], p.cr[r*cs:r*cs+cw]
			for i := range cb {
				cb[i] = src[2*i]
				cr[i] = src[2*i+1]
			}
		}
	case capture.YUYV:
		for r := 0; r < h; r++ {
			src := d[r*2*w : (r+1)*2*w]
			dst := p.y[r*p.stride : r*p.stride+w]
			for i := range dst {
				dst[i] = src[2*i]
			}
		}
		// 4:2:2 to 4:2:0: average the chroma of each pair of rows.
		for r := 0; r < ch; r++ {
			s0 := d[2*r*2*w : (2*r+1)*2*w]
			s1 := d[(2*r+1)*2*w : (2*r+2)*2*w]
			cb, cr := p.cb[r*cs:r*cs+cw], p.cr[r*cs:r*cs+cw]
			for i := range cb {
				cb[i] = byte((uint(s0[4*i+1]) + uint(s1[4*i+1]) + 1) >> 1)
				cr[i] = byte((uint(s0[4*i+3]) + uint(s1[4*i+3]) + 1) >> 1)
			}
		}
	}
	fixPlane(p.y, p.stride, w, h, g.padH)
	fixPlane(p.cb, cs, cw, ch, g.padH/2)
	fixPlane(p.cr, cs, cw, ch, g.padH/2)
}

// fixPlane replaces zero samples in the visible w x h area by 1 and fills
// the padding columns and rows (up to padH rows) with copies of the edge.
func fixPlane(pl []byte, stride, w, h, padH int) {
	for r := 0; r < h; r++ {
		row := pl[r*stride : (r+1)*stride]
		vis := row[:w]
		for {
			i := bytes.IndexByte(vis, 0)
			if i < 0 {
				break
			}
			vis[i] = 1
			vis = vis[i+1:]
		}
		if w < stride {
			e := row[w-1]
			for i := w; i < stride; i++ {
				row[i] = e
			}
		}
	}
	last := pl[(h-1)*stride : h*stride]
	for r := h; r < padH; r++ {
		copy(pl[r*stride:(r+1)*stride], last)
	}
}
