package h264sw

import "bytes"

// bitWriter appends bits MSB-first to a reusable byte slice. It writes RBSP
// data; emulation prevention is applied separately by appendEscaped.
type bitWriter struct {
	buf  []byte
	acc  uint64 // pending bits, right-aligned
	nacc uint   // number of pending bits in acc (< 8 after each call)
}

// reset empties the writer, keeping its buffer.
func (w *bitWriter) reset() {
	w.buf = w.buf[:0]
	w.acc = 0
	w.nacc = 0
}

// writeBits writes the n (<= 32) low bits of v.
func (w *bitWriter) writeBits(v uint32, n uint) {
	if n == 0 {
		return
	}
	w.acc = w.acc<<n | uint64(v)&(1<<n-1)
	w.nacc += n
	for w.nacc >= 8 {
		w.nacc -= 8
		w.buf = append(w.buf, byte(w.acc>>w.nacc))
	}
}

// writeFlag writes one bit.
func (w *bitWriter) writeFlag(b bool) {
	if b {
		w.writeBits(1, 1)
	} else {
		w.writeBits(0, 1)
	}
}

// writeUE writes v as an unsigned Exp-Golomb code ue(v).
func (w *bitWriter) writeUE(v uint32) {
	x := uint64(v) + 1
	n := uint(0)
	for t := x; t > 1; t >>= 1 {
		n++
	}
	// n leading zeros, then the n+1 bits of x.
	w.writeBits(0, n)
	if n+1 > 32 {
		w.writeBits(uint32(x>>32), n+1-32)
		w.writeBits(uint32(x), 32)
		return
	}
	w.writeBits(uint32(x), n+1)
}

// writeSE writes v as a signed Exp-Golomb code se(v).
func (w *bitWriter) writeSE(v int32) {
	if v > 0 {
		w.writeUE(uint32(2*int64(v) - 1))
	} else {
		w.writeUE(uint32(-2 * int64(v)))
	}
}

// aligned reports whether the writer sits on a byte boundary.
func (w *bitWriter) aligned() bool { return w.nacc == 0 }

// alignZero writes zero bits up to the next byte boundary.
func (w *bitWriter) alignZero() {
	if w.nacc != 0 {
		w.writeBits(0, 8-w.nacc)
	}
}

// writeBytes appends whole bytes; the writer must be byte aligned.
func (w *bitWriter) writeBytes(b []byte) {
	if w.nacc != 0 {
		for _, c := range b {
			w.writeBits(uint32(c), 8)
		}
		return
	}
	w.buf = append(w.buf, b...)
}

// trailing writes rbsp_trailing_bits: a stop bit and zero alignment.
func (w *bitWriter) trailing() {
	w.writeBits(1, 1)
	w.alignZero()
}

// bytes returns the bytes written so far (complete bytes only).
func (w *bitWriter) bytes() []byte { return w.buf }

var zeroZero = []byte{0, 0}

// appendEscaped appends rbsp to dst with emulation prevention applied: an
// emulation_prevention_three_byte (0x03) is inserted after every two zero
// bytes that are followed by a byte <= 0x03 or end the payload (H.264
// 7.4.1). The encoder's payloads always end in rbsp_trailing_bits, so the
// last byte is never zero.
func appendEscaped(dst, rbsp []byte) []byte {
	for len(rbsp) > 0 {
		i := bytes.Index(rbsp, zeroZero)
		if i < 0 {
			return append(dst, rbsp...)
		}
		dst = append(dst, rbsp[:i+2]...)
		rbsp = rbsp[i+2:]
		if len(rbsp) == 0 || rbsp[0] <= 3 {
			dst = append(dst, 3)
		}
	}
	return dst
}
