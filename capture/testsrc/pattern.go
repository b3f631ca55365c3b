package testsrc

import (
	"image/color"
	"math/bits"

	"github.com/camagent/camagent/capture"
)

// The picture, top to bottom, on a flat grey background:
//
//	barcode      frame number for machines (see barcode.go), top-left
//	text         frame number for people, eight 5x7 digits, scaled
//	box band     a solid box moving boxStep pixels per frame, bouncing
//	colour bars  seven flat 75% bars, on 16-pixel boundaries
//
// Only the barcode cells that flip, the digits that change and the box's old
// and new squares are redrawn per frame; everything else stays as drawn the
// first time a buffer was used, so most macroblocks are identical from frame
// to frame.
const (
	boxStep   = 4 // pixels per frame
	numDigits = 8
	maxScale  = 8
)

var (
	background = yuv{90, 128, 128}
	textBg     = yuv{lumaBlack, 128, 128}
	boxColour  = rgb(255, 128, 0)
	bars       = [...]yuv{
		rgb(191, 191, 191), rgb(191, 191, 0), rgb(0, 191, 191), rgb(0, 191, 0),
		rgb(191, 0, 191), rgb(191, 0, 0), rgb(0, 0, 191),
	}
)

func rgb(r, g, b uint8) yuv {
	y, cb, cr := color.RGBToYCbCr(r, g, b)
	return yuv{y, cb, cr}
}

func align16(v int) int     { return (v + 15) &^ 15 }
func align16down(v int) int { return v &^ 15 }

// layout places the picture's elements for one frame size.
type layout struct {
	bar      barcodeGeom
	scale    int  // pixels per font pixel
	text     rect // black box behind the digits
	box      int  // side of the moving box
	boxY     int
	boxSteps int // positions the box takes going one way
	barsY    int // top of the colour bars
}

func layoutFor(w, h int) (layout, bool) {
	g, ok := barcodeFor(w, h)
	if !ok {
		return layout{}, false
	}
	// The largest text scale that leaves room for the box.
	for s := max(1, min((w-8)/50, h/36, maxScale)); s >= 1; s-- {
		l := layout{bar: g, scale: s}
		top := align16(g.height())
		l.text = rect{0, top, 50 * s &^ 1, 9 * s &^ 1}
		textEnd := top + align16(l.text.h)
		l.box = max(16, min(64, align16down(h/8)))
		rest := h - textEnd
		l.barsY = h - (rest/2)&^1
		band := l.barsY - textEnd
		l.boxY = textEnd + max(0, align16down((band-l.box)/2))
		l.boxSteps = (w - l.box) / boxStep
		if l.text.w <= w && l.boxY+l.box <= h && l.boxSteps >= 0 {
			return l, true
		}
	}
	return layout{}, false
}

// boxX is the box's left edge in frame seq.
func (l *layout) boxX(seq uint32) int {
	if l.boxSteps == 0 {
		return 0
	}
	p := int(seq % uint32(2*l.boxSteps))
	if p > l.boxSteps {
		p = 2*l.boxSteps - p
	}
	return p * boxStep
}

func (l *layout) cellRect(i int) rect {
	x, y := l.bar.cellAt(i)
	return rect{x, y, l.bar.cell, l.bar.cell}
}

func (l *layout) digitRect(k int) rect {
	s := l.scale
	return rect{l.text.x + s + k*6*s, l.text.y + s, glyphW * s, glyphH * s}
}

// drawn records what a recycled buffer shows, so the next frame drawn into
// it only touches what differs.
type drawn struct {
	init   bool
	code   uint32
	digits [numDigits]uint8
	boxX   int
}

// pattern draws frames of one format and size.
type pattern struct {
	cv       canvas
	lay      layout
	template []byte // the static picture, with barcode word 0 and no digits or box
}

func newPattern(f capture.PixelFormat, w, h int) (*pattern, bool) {
	lay, ok := layoutFor(w, h)
	if !ok {
		return nil, false
	}
	p := &pattern{cv: newCanvas(f, w, h), lay: lay}
	t := make([]byte, p.cv.size)
	p.cv.fill(t, rect{0, 0, w, h}, background)
	x0 := 0
	for i, c := range bars {
		x1 := w
		if i < len(bars)-1 {
			x1 = align16down((i + 1) * w / len(bars))
		}
		if x1 > x0 && lay.barsY < h {
			p.cv.fill(t, rect{x0, lay.barsY, x1 - x0, h - lay.barsY}, c)
		}
		x0 = max(x0, x1)
	}
	for i := range barcodeCells {
		p.cv.fill(t, lay.cellRect(i), textBg)
	}
	p.cv.fill(t, lay.text, textBg)
	p.template = t
	return p, true
}

// draw makes buf, last drawn as st records, show frame seq.
func (p *pattern) draw(buf []byte, st *drawn, seq uint32) {
	if !st.init {
		copy(buf, p.template)
		*st = drawn{init: true, boxX: -1}
		for k := range st.digits {
			st.digits[k] = 0xff
		}
	}
	w := codeword(seq)
	for d := w ^ st.code; d != 0; d &= d - 1 {
		i := bits.TrailingZeros32(d)
		v := uint8(lumaBlack)
		if w>>i&1 != 0 {
			v = lumaWhite
		}
		p.cv.fillLuma(buf, p.lay.cellRect(i), v)
	}
	st.code = w

	v := seq % 100_000_000
	for k := numDigits - 1; k >= 0; k-- {
		dg := uint8(v % 10)
		v /= 10
		if st.digits[k] != dg {
			p.drawDigit(buf, k, dg)
			st.digits[k] = dg
		}
	}

	if x := p.lay.boxX(seq); x != st.boxX {
		if st.boxX >= 0 {
			p.cv.copyRect(buf, p.template, rect{st.boxX, p.lay.boxY, p.lay.box, p.lay.box})
		}
		p.cv.fill(buf, rect{x, p.lay.boxY, p.lay.box, p.lay.box}, boxColour)
		st.boxX = x
	}
}

func (p *pattern) drawDigit(buf []byte, k int, dg uint8) {
	r := p.lay.digitRect(k)
	s := p.lay.scale
	p.cv.fillLuma(buf, r, lumaBlack)
	for row, bitsRow := range glyphs[dg] {
		for col := 0; col < glyphW; {
			if bitsRow>>(glyphW-1-col)&1 == 0 {
				col++
				continue
			}
			run := col
			for run < glyphW && bitsRow>>(glyphW-1-run)&1 != 0 {
				run++
			}
			p.cv.fillLuma(buf, rect{r.x + col*s, r.y + row*s, (run - col) * s, s}, lumaWhite)
			col = run
		}
	}
}
