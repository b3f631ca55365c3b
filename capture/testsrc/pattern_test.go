package testsrc

import (
	"testing"
)

// TestLayoutAllSizes checks every size New accepts: the pattern fits, and
// the parts redrawn per frame stay apart.
func TestLayoutAllSizes(t *testing.T) {
	// Every size up to 512, then a sparse sweep (the large sizes are
	// roomy; the tight ones are small).
	step := func(v int) int {
		if v < 512 {
			return 2
		}
		return 38
	}
	for w := MinWidth; w <= MaxWidth; w += step(w) {
		for h := MinHeight; h <= MaxHeight; h += step(h) {
			l, ok := layoutFor(w, h)
			if !ok {
				t.Fatalf("%dx%d: no layout", w, h)
			}
			frame := rect{0, 0, w, h}
			band := rect{0, l.boxY, w, l.box}
			inside := func(r rect) bool {
				return r.x >= 0 && r.y >= 0 && r.x+r.w <= frame.w && r.y+r.h <= frame.h
			}
			if !inside(l.text) || !inside(band) || band.overlaps(l.text) {
				t.Fatalf("%dx%d: text %+v band %+v", w, h, l.text, band)
			}
			if l.boxX(uint32(l.boxSteps))+l.box > w || l.boxY%2 != 0 {
				t.Fatalf("%dx%d: box leaves the picture", w, h)
			}
			for _, i := range []int{0, barcodeCells - 1} {
				c := l.cellRect(i)
				if !inside(c) || c.overlaps(l.text) || c.overlaps(band) {
					t.Fatalf("%dx%d: cell %d at %+v", w, h, i, c)
				}
			}
			for _, k := range []int{0, numDigits - 1} {
				d := l.digitRect(k)
				if d.x < l.text.x || d.y < l.text.y || d.x+d.w > l.text.x+l.text.w || d.y+d.h > l.text.y+l.text.h {
					t.Fatalf("%dx%d: digit %d at %+v outside text %+v", w, h, k, d, l.text)
				}
			}
		}
	}
}

func TestBoxMoves(t *testing.T) {
	l, _ := layoutFor(640, 480)
	prev := l.boxX(0)
	for seq := uint32(1); seq < 1000; seq++ {
		x := l.boxX(seq)
		if d := x - prev; d != boxStep && d != -boxStep {
			t.Fatalf("frame %d: box moved %d px", seq, d)
		}
		prev = x
	}
}
