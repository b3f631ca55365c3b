package h264sw

import "testing"

func TestWriteChromaDC(t *testing.T) {
	cases := []struct {
		c    [4]int16
		want string
	}{
		{[4]int16{0, 0, 0, 0}, "01"},
		{[4]int16{1, 0, 0, 0}, "1" + "0" + "1"},
		{[4]int16{0, 0, 0, -1}, "1" + "1" + "000"},
		{[4]int16{5, 0, 0, 0}, "000111" + "0000001" + "1"},
		// T1s +1 (pos 3), -1 (pos 1); level 3; total_zeros 1; run_before 1
		{[4]int16{3, -1, 0, 1}, "0000010" + "01" + "001" + "0" + "0"},
		{[4]int16{2, 2, 2, 2}, "000010" + "1" + "010" + "010" + "010"},
		// T1=1 from -1 at pos 2; 0 at pos 3 ignored; level 20: code 36 -> prefix 15, suffix 6; total_zeros 1; run_before 1
		{[4]int16{20, 0, -1, 0}, "000110" + "1" + "0000000000000001" + "000000000110" + "01" + "0"},
	}
	var w bitWriter
	for _, c := range cases {
		w.reset()
		writeChromaDC(&w, &c.c)
		if got := bitString(&w); got != c.want {
			t.Errorf("%v: %s, want %s", c.c, got, c.want)
		}
	}
}

func TestChromaDCF(t *testing.T) {
	for r := -255; r <= 255; r++ {
		f := int(chromaDCF[r+255])
		if f%4 != 0 || decodedChromaDC(f) != r {
			t.Fatalf("residual %d: f %d decodes to %d", r, f, decodedChromaDC(f))
		}
	}
	// Levels round-trip through the decoder's 2x2 transform.
	for _, r := range [][4]int{{0, 0, 0, 0}, {1, -1, 2, -2}, {255, -254, 7, 0}, {-3, -3, -3, -3}} {
		c := chromaLevels(r)
		f := [4]int{
			int(c[0] + c[1] + c[2] + c[3]), int(c[0] - c[1] + c[2] - c[3]),
			int(c[0] + c[1] - c[2] - c[3]), int(c[0] - c[1] - c[2] + c[3]),
		}
		for i := range f {
			if got := decodedChromaDC(f[i]); got != r[i] {
				t.Errorf("%v: quarter %d decodes to %d", r, i, got)
			}
		}
	}
}
