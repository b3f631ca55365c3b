package v4l2

import (
	"context"
	"testing"
)

// BenchmarkNext is the per-frame path from the driver to the consumer and
// back: Wait, Dequeue, hand out the frame, Release (Queue), on the fake
// device (no syscalls: this measures Source's own cost). Goal: 0 allocs.
func BenchmarkNext(b *testing.B) {
	r := newRig(b, vividCatalog())
	s, err := Open(r.config(640, 480, 25))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		f, err := s.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		f.Release()
	}
	if st := s.Stats(); st.DriverDrops != 0 || st.Skipped != 0 {
		b.Fatalf("stats %+v", st)
	}
}

// BenchmarkNextSlowConsumer: three frames are ready at each Next; the
// newest is handed out and the two older ones go back to the driver.
func BenchmarkNextSlowConsumer(b *testing.B) {
	r := newRig(b, vividCatalog())
	r.newDev = func() *FakeDevice { return &FakeDevice{Catalog: vividCatalog()} }
	s, err := Open(r.config(640, 480, 25))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	d := r.dev(0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d.Capture(3)
		f, err := s.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		f.Release()
	}
}
