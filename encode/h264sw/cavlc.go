package h264sw

// CAVLC coding of a chroma DC residual block (4:2:0: maxNumCoeff 4, nC -1),
// H.264 7.3.5.3.2 and 9.2.

// chromaDCTokens are coeff_token codes for nC == -1 (Table 9-5), indexed
// [TotalCoeff][TrailingOnes]: {code, length}.
var chromaDCTokens = [5][4][2]uint32{
	{{0b01, 2}},
	{{0b000111, 6}, {0b1, 1}},
	{{0b000100, 6}, {0b000110, 6}, {0b001, 3}},
	{{0b000011, 6}, {0b0000011, 7}, {0b0000010, 7}, {0b000101, 6}},
	{{0b000010, 6}, {0b00000011, 8}, {0b00000010, 8}, {0b0000000, 7}},
}

// chromaDCTotalZeros are total_zeros codes for chroma DC 2x2 (Table 9-9a),
// indexed [TotalCoeff-1][total_zeros].
var chromaDCTotalZeros = [3][4][2]uint32{
	{{0b1, 1}, {0b01, 2}, {0b001, 3}, {0b000, 3}},
	{{0b1, 1}, {0b01, 2}, {0b00, 2}},
	{{0b1, 1}, {0b0, 1}},
}

// runBefore are run_before codes for zerosLeft 1..3 (Table 9-10), indexed
// [zerosLeft-1][run_before].
var runBefore = [3][4][2]uint32{
	{{0b1, 1}, {0b0, 1}},
	{{0b1, 1}, {0b01, 2}, {0b00, 2}},
	{{0b11, 2}, {0b10, 2}, {0b01, 2}, {0b00, 2}},
}

// cavlcBlock is a residual block split into the CAVLC syntax elements.
type cavlcBlock struct {
	total, trailingOnes int
	levels              [4]int // non-zero levels, highest frequency first
	runs                [4]int // zeros before each of them (in scan order)
	totalZeros          int
}

func (b *cavlcBlock) split(c *[4]int16) {
	*b = cavlcBlock{}
	run := 0
	lastSeen := false
	for i := 3; i >= 0; i-- {
		if c[i] == 0 {
			if lastSeen {
				run++
			}
			continue
		}
		if lastSeen {
			b.runs[b.total-1] = run
			b.totalZeros += run
		}
		run = 0
		lastSeen = true
		b.levels[b.total] = int(c[i])
		b.total++
	}
	if b.total > 0 {
		// zeros below the lowest-frequency coefficient count towards
		// total_zeros; its run_before is implied, never sent
		b.runs[b.total-1] = run
		b.totalZeros += run
	}
	for i := 0; i < b.total && i < 3; i++ {
		if b.levels[i] != 1 && b.levels[i] != -1 {
			break
		}
		b.trailingOnes++
	}
}

// levelCodes walks the non-trailing-one levels, calling emit with each
// level's prefix, suffix and suffix size; it reports false when a level
// needs a level_prefix above 15, which Baseline forbids.
func (b *cavlcBlock) levelCodes(emit func(prefix int, suffix uint32, size uint)) bool {
	suffixLength := 0
	if b.total > 10 && b.trailingOnes < 3 {
		suffixLength = 1
	}
	for i := b.trailingOnes; i < b.total; i++ {
		lv := b.levels[i]
		code := 2*lv - 2
		if lv < 0 {
			code = -2*lv - 1
		}
		if i == b.trailingOnes && b.trailingOnes < 3 {
			code -= 2
		}
		switch {
		case suffixLength == 0 && code < 14:
			emit(code, 0, 0)
		case suffixLength == 0 && code < 30:
			emit(14, uint32(code-14), 4)
		case suffixLength == 0:
			if code-30 >= 1<<12 {
				return false
			}
			emit(15, uint32(code-30), 12)
		case code < 15<<suffixLength:
			emit(code>>suffixLength, uint32(code)&(1<<suffixLength-1), uint(suffixLength))
		default:
			if code-(15<<suffixLength) >= 1<<12 {
				return false
			}
			emit(15, uint32(code-(15<<suffixLength)), 12)
		}
		if suffixLength == 0 {
			suffixLength = 1
		}
		if abs(lv) > 3<<(suffixLength-1) && suffixLength < 6 {
			suffixLength++
		}
	}
	return true
}

// chromaDCFits reports whether the levels can be coded in Baseline.
func chromaDCFits(c *[4]int16) bool {
	var b cavlcBlock
	b.split(c)
	return b.levelCodes(func(int, uint32, uint) {})
}

// writeChromaDC writes the residual_block of one chroma DC; the levels
// must have passed chromaDCFits.
func writeChromaDC(w *bitWriter, c *[4]int16) {
	var b cavlcBlock
	b.split(c)
	t := chromaDCTokens[b.total][b.trailingOnes]
	w.writeBits(t[0], uint(t[1]))
	if b.total == 0 {
		return
	}
	for i := 0; i < b.trailingOnes; i++ {
		w.writeFlag(b.levels[i] < 0) // trailing_ones_sign_flag
	}
	b.levelCodes(func(prefix int, suffix uint32, size uint) {
		w.writeBits(0, uint(prefix)) // level_prefix: zeros, then a one
		w.writeBits(1, 1)
		w.writeBits(suffix, size)
	})
	if b.total < 4 {
		z := chromaDCTotalZeros[b.total-1][b.totalZeros]
		w.writeBits(z[0], uint(z[1]))
	}
	zerosLeft := b.totalZeros
	for i := 0; i < b.total-1 && zerosLeft > 0; i++ {
		r := runBefore[zerosLeft-1][b.runs[i]]
		w.writeBits(r[0], uint(r[1]))
		zerosLeft -= b.runs[i]
	}
}
