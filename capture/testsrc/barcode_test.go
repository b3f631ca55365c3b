package testsrc

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"math"
	"testing"

	"github.com/camagent/camagent/capture"
)

type patternKey struct {
	f    capture.PixelFormat
	w, h int
}

// patterns caches the static pictures tests render on (tests here do not
// run in parallel).
var patterns = map[patternKey]*pattern{}

// render draws frame seq from scratch, as a fresh buffer would show it.
func render(t testing.TB, f capture.PixelFormat, w, h int, seq uint32) *capture.Frame {
	t.Helper()
	key := patternKey{f, w, h}
	p := patterns[key]
	if p == nil {
		var ok bool
		if p, ok = newPattern(f, w, h); !ok {
			t.Fatalf("no pattern for %dx%d", w, h)
		}
		patterns[key] = p
	}
	buf := make([]byte, p.cv.size)
	var st drawn
	p.draw(buf, &st, seq)
	return capture.NewFrame(buf, 0, seq, capture.Mode{Format: f, Width: w, Height: h}, nil)
}

var numbers = []uint32{0, 1, 2, 9, 10, 99, 1000, 0x5a5a5, 0xaaaaa, 0x55555, NumberMask - 1, NumberMask}

func TestReadFrameNumberRaw(t *testing.T) {
	for _, sz := range sizes {
		for _, f := range formats {
			for _, n := range numbers {
				fr := render(t, f, sz.w, sz.h, n+7<<20) // high bits are not carried
				y, stride := luma(fr)
				got, err := ReadFrameNumber(y, stride, sz.w, sz.h)
				if err != nil || got != n {
					t.Fatalf("%v %v frame %d: got %d, %v", sz, f, n, got, err)
				}
			}
		}
	}
}

func TestReadFrameNumberJPEG(t *testing.T) {
	// Luma is the same in every format, so all formats are tried at one
	// size only.
	for _, sz := range sizes {
		fmts := formats
		if sz != (size{160, 120}) {
			fmts = formats[:1]
		}
		for _, f := range fmts {
			for _, n := range numbers[len(numbers)-3:] {
				img := ycbcr(render(t, f, sz.w, sz.h, n))
				var b bytes.Buffer
				if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 30}); err != nil {
					t.Fatal(err)
				}
				dec, err := jpeg.Decode(&b)
				if err != nil {
					t.Fatal(err)
				}
				d, ok := dec.(*image.YCbCr)
				if !ok {
					t.Fatalf("decoded %T", dec)
				}
				got, err := ReadFrameNumber(d.Y, d.YStride, sz.w, sz.h)
				if err != nil || got != n {
					t.Fatalf("%v %v frame %d after JPEG q30: got %d, %v", sz, f, n, got, err)
				}
			}
		}
	}
}

func TestReadFrameNumberStride(t *testing.T) {
	const w, h, stride = 160, 120, 200
	y, _ := luma(render(t, capture.YU12, w, h, 4242))
	padded := make([]byte, (h-1)*stride+w)
	for r := range h {
		copy(padded[r*stride:], y[r*w:(r+1)*w])
	}
	if got, err := ReadFrameNumber(padded, stride, w, h); err != nil || got != 4242 {
		t.Fatalf("got %d, %v", got, err)
	}
}

func TestReadFrameNumberRejects(t *testing.T) {
	const w, h = 320, 240
	good, _ := luma(render(t, capture.YU12, w, h, 0x12345))
	flat := func(v byte) []byte { return bytes.Repeat([]byte{v}, w*h) }
	// flipBit inverts the cell that carries bit k of the codeword.
	flipBit := func(k int) []byte {
		y := bytes.Clone(good)
		g, _ := barcodeFor(w, h)
		x0, y0 := g.cellAt(k)
		for yy := y0; yy < y0+g.cell; yy++ {
			for xx := x0; xx < x0+g.cell; xx++ {
				y[yy*w+xx] = lumaBlack + lumaWhite - y[yy*w+xx]
			}
		}
		return y
	}
	grey := bytes.Clone(good)
	g, _ := barcodeFor(w, h)
	x0, y0 := g.cellAt(9)
	for yy := y0; yy < y0+g.cell; yy++ {
		for xx := x0; xx < x0+g.cell; xx++ {
			grey[yy*w+xx] = 128
		}
	}
	cases := []struct {
		name         string
		luma         []byte
		stride, w, h int
		want         error
	}{
		{"black", flat(lumaBlack), w, w, h, ErrNoBarcode},
		{"white", flat(lumaWhite), w, w, h, ErrNoBarcode},
		{"swapped guards", flipBit(0), w, w, h, ErrNoBarcode},
		{"data bit flipped", flipBit(5), w, w, h, ErrChecksum},
		{"check bit flipped", flipBit(25), w, w, h, ErrChecksum},
		{"grey cell", grey, w, w, h, ErrNoBarcode},
		{"short plane", good[:len(good)-1], w, w, h, ErrPlane},
		{"stride below width", good, w - 1, w, h, ErrPlane},
		{"zero size", good, w, 0, 0, ErrPlane},
		{"huge stride", good, math.MaxInt, w, h, ErrPlane},
		{"too small", good, w, 32, 32, ErrNoBarcode},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := ReadFrameNumber(c.luma, c.stride, c.w, c.h)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %d, %v; want %v", n, err, c.want)
			}
		})
	}
}

func TestCodeword(t *testing.T) {
	if crc8(0) == 0 || crc8(NumberMask) == 0xff {
		t.Fatal("a flat picture would pass the check")
	}
	for _, n := range numbers {
		w := codeword(n)
		if w&3 != 1 || w>>barcodeCells != 0 {
			t.Fatalf("codeword(%d) = %#x", n, w)
		}
	}
}

func FuzzReadFrameNumber(f *testing.F) {
	for _, sz := range sizes[:4] {
		for _, n := range numbers[:3] {
			y, stride := luma(render(f, capture.YU12, sz.w, sz.h, n))
			f.Add(y, stride, sz.w, sz.h)
		}
	}
	f.Add([]byte{1, 2, 3}, 1, 1, 3)
	f.Fuzz(func(t *testing.T, y []byte, stride, w, h int) {
		n, err := ReadFrameNumber(y, stride, w, h)
		if err == nil && n > NumberMask {
			t.Fatalf("number %d out of range", n)
		}
	})
}
