package annexb

import (
	"bytes"
	"errors"
	"testing"
)

var cases = []struct {
	name string
	in   []byte
	want [][]byte
	err  error
}{
	{"three-byte codes", []byte{0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2}, [][]byte{{0x67, 1}, {0x68, 2}}, nil},
	{"four-byte codes", []byte{0, 0, 0, 1, 0x65, 9, 0, 0, 0, 1, 0x41, 8}, [][]byte{{0x65, 9}, {0x41, 8}}, nil},
	{"trailing zeros and empty units", []byte{0, 0, 1, 0, 0, 1, 0x09, 0xf0, 0, 0}, [][]byte{{0x09, 0xf0}}, nil},
	{"no start code", []byte{0x67, 1, 2}, nil, ErrNoStartCode},
	{"junk before the start code", []byte{7, 0, 0, 1, 0x67}, nil, ErrNoStartCode},
	{"empty", nil, nil, ErrNoStartCode},
}

func TestSplit(t *testing.T) {
	for _, c := range cases {
		got, err := Split(nil, c.in)
		if !errors.Is(err, c.err) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.err)
			continue
		}
		if c.err == nil && (len(got) != len(c.want) || !equal(got, c.want)) {
			t.Errorf("%s: got %x, want %x", c.name, got, c.want)
		}
	}
}

func TestSplitBoundsTheCount(t *testing.T) {
	in := bytes.Repeat([]byte{0, 0, 1, 0x41}, MaxNALUs+1)
	if _, err := Split(nil, in); !errors.Is(err, ErrTooMany) {
		t.Fatalf("err %v, want ErrTooMany", err)
	}
}

func TestSplitDoesNotAllocateOnceGrown(t *testing.T) {
	in := []byte{0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, 0x65, 3}
	dst := make([][]byte, 0, 8)
	if n := testing.AllocsPerRun(100, func() { dst, _ = Split(dst[:0], in) }); n != 0 {
		t.Fatalf("%v allocs per split", n)
	}
}

func equal(a, b [][]byte) bool {
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// FuzzSplit: any bytes split without panicking, into at most MaxNALUs
// non-empty units that lie inside the input and contain no start code.
func FuzzSplit(f *testing.F) {
	for _, c := range cases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Split(nil, in)
		if err != nil {
			return
		}
		if len(got) > MaxNALUs {
			t.Fatalf("%d units", len(got))
		}
		for _, n := range got {
			if len(n) == 0 || bytes.Contains(n, startCode) {
				t.Fatalf("bad unit %x", n)
			}
		}
	})
}
