package h264sw

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestBitWriterExpGolomb(t *testing.T) {
	cases := []struct {
		name  string
		write func(w *bitWriter)
		want  string // hex of the bytes after rbsp_trailing_bits
	}{
		{"ue0", func(w *bitWriter) { w.writeUE(0) }, "c0"},                          // 1|1000000
		{"ue1", func(w *bitWriter) { w.writeUE(1) }, "50"},                          // 010|1 0000
		{"ue2", func(w *bitWriter) { w.writeUE(2) }, "70"},                          // 011|1 0000
		{"ue3", func(w *bitWriter) { w.writeUE(3) }, "24"},                          // 00100|100
		{"ue7", func(w *bitWriter) { w.writeUE(7) }, "11"},                          // 0001000|1
		{"ue30", func(w *bitWriter) { w.writeUE(30) }, "0fc0"},                      // 000011111|1
		{"se+1", func(w *bitWriter) { w.writeSE(1) }, "50"},                         // 010
		{"se-1", func(w *bitWriter) { w.writeSE(-1) }, "70"},                        // 011
		{"se+2", func(w *bitWriter) { w.writeSE(2) }, "24"},                         // 00100
		{"se-2", func(w *bitWriter) { w.writeSE(-2) }, "2c"},                        // 00101|100
		{"se0", func(w *bitWriter) { w.writeSE(0) }, "c0"},                          // 1
		{"ueMax", func(w *bitWriter) { w.writeUE(0xfffffffe) }, "00000001ffffffff"}, // 31 zeros, 32 ones, stop
		{"bits", func(w *bitWriter) { w.writeBits(0b101, 3); w.writeBits(0xabcd, 16) }, "b579b0"},
		{"align+bytes", func(w *bitWriter) {
			w.writeFlag(true)
			w.alignZero()
			w.writeBytes([]byte{0x12, 0x34})
		}, "80123480"},
		{"unaligned bytes", func(w *bitWriter) {
			w.writeBits(0, 4)
			w.writeBytes([]byte{0xff})
		}, "0ff8"},
		{"sps-like", func(w *bitWriter) {
			w.writeBits(66, 8)
			w.writeUE(0)
			w.writeUE(2)
			w.writeUE(39)
		}, "42b051"},
	}
	var w bitWriter
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w.reset()
			c.write(&w)
			w.trailing()
			if !w.aligned() {
				t.Fatal("not aligned after trailing bits")
			}
			if got := hex.EncodeToString(w.bytes()); got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
		})
	}
}

// escapeCases feed TestAppendEscaped and the seeds of FuzzEscape.
var escapeCases = []struct {
	in, want string
}{
	{"", ""},
	{"0102", "0102"},
	{"000001", "00000301"},
	{"000000", "00000300"},
	{"000002", "00000302"},
	{"000003", "00000303"},
	{"000004", "000004"},
	{"00000000", "000003000003"},
	{"0000000001", "00000300000301"},
	{"00000000000000", "00000300000300000300"},
	{"aa000001bb000002", "aa00000301bb00000302"},
	{"0000", "000003"},
	{"ff00", "ff00"}, // unrepresentable, never produced: RBSPs end in a stop bit
	{"00ff0000ff", "00ff0000ff"},
	{"000100", "000100"},
}

func TestAppendEscaped(t *testing.T) {
	for _, c := range escapeCases {
		in, _ := hex.DecodeString(c.in)
		got := hex.EncodeToString(appendEscaped([]byte{0x65}, in))
		if got != "65"+c.want {
			t.Errorf("escape(%s) = %s, want 65%s", c.in, got, c.want)
		}
		checkEscaped(t, in, appendEscaped(nil, in))
	}
}

// unescape removes emulation prevention bytes (the decoder's view).
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	zeros := 0
	for _, c := range b {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// badEscape returns the offset of the first 00 00 in b that is followed by
// 00, 01 or 02, or by an 03 that is not itself followed by 00..03 or the
// end; -1 if b is a valid NAL payload.
func badEscape(b []byte) int {
	for i := 0; i+2 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 {
			continue
		}
		switch {
		case b[i+2] <= 2:
			return i
		case b[i+2] == 3 && i+3 < len(b) && b[i+3] > 3:
			return i
		}
	}
	return -1
}

// checkEscaped verifies that esc contains no start code emulation and
// unescapes back to raw.
func checkEscaped(t *testing.T, raw, esc []byte) {
	t.Helper()
	if k := badEscape(esc); k >= 0 {
		t.Fatalf("escaped %x is invalid at byte %d", esc, k)
	}
	if n := len(esc); n >= 2 && esc[n-1] == 0 && esc[n-2] == 0 {
		t.Fatalf("escaped %x ends in two zero bytes", esc)
	}
	if got := unescape(esc); !bytes.Equal(got, raw) {
		t.Fatalf("unescape(escape(%x)) = %x", raw, got)
	}
}

func FuzzEscape(f *testing.F) {
	for _, c := range escapeCases {
		in, _ := hex.DecodeString(c.in)
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkEscaped(t, raw, appendEscaped(nil, raw))
	})
}

func TestDCLevels(t *testing.T) {
	for r := -255; r <= 255; r++ {
		if got := decodedDC(int(dcLevels[r+255])); got != r {
			t.Fatalf("residual %d: level %d decodes to %d", r, dcLevels[r+255], got)
		}
	}
}

func TestIntraCBPCode(t *testing.T) {
	seen := map[uint8]bool{}
	for _, c := range intraCBPByCode {
		if seen[c] || c > 47 {
			t.Fatalf("table 9-4 column is not a permutation: %d", c)
		}
		seen[c] = true
	}
	want := [16]uint8{3, 29, 30, 17, 31, 18, 37, 8, 32, 38, 19, 9, 20, 10, 11, 2}
	if [16]uint8(intraCBPCode[:16]) != want {
		t.Fatalf("intraCBPCode = %v, want %v", intraCBPCode[:16], want)
	}
}

func TestDCOnlyBits(t *testing.T) {
	cases := []struct {
		nC, level int
		want      string
	}{
		{0, 1, "0101"},                           // 01, sign 0, total_zeros 1
		{0, -1, "0111"},                          // 01, sign 1, total_zeros 1
		{0, 2, "000101" + "1" + "1"},             // levelCode 0 -> prefix "1"
		{0, -2, "000101" + "01" + "1"},           // levelCode 1
		{3, 8, "001011" + "0000000000001" + "1"}, // levelCode 12
		{5, 9, "001111" + "000000000000001" + "0000" + "1"},
		{9, 100, "000000" + "0000000000000001" + "000010100110" + "1"}, // levelCode 196 = 30+166
	}
	var w bitWriter
	for _, c := range cases {
		w.reset()
		writeDCOnly(&w, c.nC, c.level)
		if got := bitString(&w); got != c.want {
			t.Errorf("nC %d level %d: %s, want %s", c.nC, c.level, got, c.want)
		}
	}
}

// bitString returns the bits written so far, including pending ones.
func bitString(w *bitWriter) string {
	var s []byte
	for _, b := range w.buf {
		for i := 7; i >= 0; i-- {
			s = append(s, '0'+(b>>i)&1)
		}
	}
	for i := int(w.nacc) - 1; i >= 0; i-- {
		s = append(s, '0'+byte(w.acc>>i)&1)
	}
	return string(s)
}
