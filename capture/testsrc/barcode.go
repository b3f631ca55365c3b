package testsrc

import (
	"errors"
	"fmt"
)

// The barcode is a row (or, on narrow pictures, a few rows) of square cells
// in the top-left corner of the picture, each cell black or white:
//
//	cell 0      white guard
//	cell 1      black guard
//	cells 2-21  frame number, 20 bits, most significant first
//	cells 22-29 CRC-8 (polynomial 0x07, initial value 0xff) of the number
//
// Cells are 16x16 pixels and sit on the 16-pixel macroblock grid, so a
// block-based codec sees each cell as one flat block; on pictures too small
// for that they are 8x8 (one JPEG block). Reading averages the interior of
// each cell and thresholds it halfway between the two guards.
const (
	barcodeCells = 30
	numberBits   = 20
	crcBits      = 8

	// NumberMask is the part of a frame's Sequence the barcode carries.
	NumberMask = 1<<numberBits - 1

	lumaBlack = 16
	lumaWhite = 235
)

// Errors returned by ReadFrameNumber.
var (
	ErrPlane     = errors.New("testsrc: luma plane does not match its size")
	ErrNoBarcode = errors.New("testsrc: no barcode found")
	ErrChecksum  = errors.New("testsrc: barcode checksum mismatch")
)

// barcodeGeom places the barcode cells in a picture.
type barcodeGeom struct {
	cell int // side of a cell in pixels
	cols int // cells per row
	rows int
}

// barcodeFor returns the barcode geometry for a picture size; it depends on
// nothing else, so a reader can find the cells from the size alone.
func barcodeFor(width, height int) (barcodeGeom, bool) {
	for _, cell := range []int{16, 8} {
		cols := min(barcodeCells, width/cell)
		if cols < 2 {
			continue
		}
		rows := (barcodeCells + cols - 1) / cols
		if rows*cell <= height/2 {
			return barcodeGeom{cell: cell, cols: cols, rows: rows}, true
		}
	}
	return barcodeGeom{}, false
}

// cellAt returns the top-left corner of cell i.
func (g barcodeGeom) cellAt(i int) (x, y int) {
	return (i % g.cols) * g.cell, (i / g.cols) * g.cell
}

// height is the number of picture rows the barcode covers.
func (g barcodeGeom) height() int { return g.rows * g.cell }

// crc8 is CRC-8 with polynomial x^8+x^2+x+1 over the 20-bit number sent as
// three bytes, most significant first. The non-zero initial value keeps an
// all-black or all-white picture from passing the check.
func crc8(n uint32) uint8 {
	c := uint8(0xff)
	for _, b := range [3]uint8{uint8(n >> 16), uint8(n >> 8), uint8(n)} {
		c ^= b
		for range 8 {
			if c&0x80 != 0 {
				c = c<<1 ^ 0x07
			} else {
				c <<= 1
			}
		}
	}
	return c
}

// codeword returns the cell colours for frame number n: bit i set means
// cell i is white.
func codeword(n uint32) uint32 {
	n &= NumberMask
	w := uint32(1) // guard: cell 0 white, cell 1 black
	for k := range numberBits {
		w |= (n >> (numberBits - 1 - k) & 1) << (2 + k)
	}
	c := uint32(crc8(n))
	for k := range crcBits {
		w |= (c >> (crcBits - 1 - k) & 1) << (2 + numberBits + k)
	}
	return w
}

// ReadFrameNumber reads the frame number (the low 20 bits of the frame's
// Sequence) back from the barcode of a decoded picture's luma plane, which
// may have been through lossy compression. width and height are the
// picture's size, as generated; stride is the distance between rows of luma.
// It returns ErrNoBarcode if the guard cells are missing or a cell is neither
// clearly black nor clearly white, and ErrChecksum if the check fails.
func ReadFrameNumber(luma []byte, stride, width, height int) (uint32, error) {
	if width <= 0 || height <= 0 || width > MaxWidth || height > MaxHeight ||
		stride < width || stride > len(luma) || len(luma) < (height-1)*stride+width {
		return 0, fmt.Errorf("%w: %d bytes for %dx%d, stride %d", ErrPlane, len(luma), width, height, stride)
	}
	g, ok := barcodeFor(width, height)
	if !ok {
		return 0, fmt.Errorf("%w: picture %dx%d too small", ErrNoBarcode, width, height)
	}
	var avg [barcodeCells]int
	for i := range avg {
		avg[i] = cellAverage(luma, stride, g, i)
	}
	white, black := avg[0], avg[1]
	contrast := white - black
	if contrast < (lumaWhite-lumaBlack)/3 {
		return 0, fmt.Errorf("%w: guard contrast %d", ErrNoBarcode, contrast)
	}
	threshold := (white + black) / 2
	margin := contrast / 4
	var bits uint32
	for i := 2; i < barcodeCells; i++ {
		d := avg[i] - threshold
		if d > -margin && d < margin {
			return 0, fmt.Errorf("%w: cell %d is grey (%d, guards %d/%d)", ErrNoBarcode, i, avg[i], black, white)
		}
		bits <<= 1
		if d > 0 {
			bits |= 1
		}
	}
	n := bits >> crcBits
	if got, want := uint8(bits), crc8(n); got != want {
		return 0, fmt.Errorf("%w: number %d, check %#02x, want %#02x", ErrChecksum, n, got, want)
	}
	return n, nil
}

// cellAverage is the mean luma of the interior of cell i, leaving out a
// quarter of the cell on each side where compression rings.
func cellAverage(luma []byte, stride int, g barcodeGeom, i int) int {
	x0, y0 := g.cellAt(i)
	m := g.cell / 4
	sum, count := 0, 0
	for y := y0 + m; y < y0+g.cell-m; y++ {
		row := luma[y*stride+x0+m : y*stride+x0+g.cell-m]
		for _, v := range row {
			sum += int(v)
		}
		count += len(row)
	}
	return sum / count
}
