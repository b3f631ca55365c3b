package m2m

import (
	"errors"
	"fmt"
	"time"

	"github.com/camagent/camagent/capture"
	"github.com/camagent/camagent/encode"
)

// Encode queues f and waits for its coded frame. It returns (nil, nil) for
// a frame dropped for the frame-rate knob, or one the driver flagged as
// failed (the next frame is then forced to be a keyframe). The access unit
// points into a Capture buffer and is valid until the next call; for
// H.264, NALUs are the NAL units (keyframes carry SPS and PPS); for FWHT,
// NALUs holds the one whole FWHT frame and Codec is 0.
//
// The encoder is assumed to give one coded frame per raw frame, with no
// reordering (Baseline profile; vicodec), as the Raspberry Pi's does; the
// access unit's Timestamp is the one the driver copied to the Capture
// buffer, and Sequence the sequence number of the frame queued with it.
func (e *Encoder) Encode(f *capture.Frame) (*encode.AccessUnit, error) {
	if e.closed {
		return nil, ErrClosed
	}
	if err := e.release(); err != nil {
		return nil, err
	}
	if err := e.check(f); err != nil {
		return nil, err
	}
	if !e.dec.Keep(f.Timestamp) {
		e.stats.Dropped++
		return nil, nil
	}
	if f.Restart {
		e.wantKey.Store(true)
	}
	e.applyKnobs()
	if e.wantKey.Swap(false) && e.forceKey.ok {
		if err := e.dev.SetControl(cidForceKeyFrame, 1); err != nil {
			e.log.Warn("forcing a keyframe failed", "err", err)
		}
	}
	i, err := e.freeOutput()
	if err != nil {
		return nil, err
	}
	e.ob = Buffer{Index: i, BytesUsed: e.layout.copyFrame(e.out[i], f.Data), Timestamp: f.Timestamp}
	if err := e.dev.Enqueue(Output, &e.ob); err != nil {
		e.free = append(e.free, i)
		return nil, fmt.Errorf("m2m: VIDIOC_QBUF OUTPUT %d: %w", i, err)
	}
	e.remember(f.Timestamp, f.Sequence)
	e.queued++
	e.stats.Frames++
	au, err := e.collect()
	e.reclaim()
	return au, err
}

// check validates a frame against the configured mode.
func (e *Encoder) check(f *capture.Frame) error {
	c := &e.cfg
	if f == nil {
		return fmt.Errorf("%w: nil frame", ErrFrame)
	}
	if f.Format != c.Input || f.Width != c.Width || f.Height != c.Height {
		return fmt.Errorf("%w: %dx%d %s, the encoder takes %dx%d %s", ErrFrame, f.Width, f.Height, f.Format, c.Width, c.Height, c.Input)
	}
	if n := rawFrameSize(c.Input, c.Width, c.Height); len(f.Data) < n {
		return fmt.Errorf("%w: %d bytes, want %d", ErrFrame, len(f.Data), n)
	}
	return nil
}

// release gives the Capture buffer of the last access unit back.
func (e *Encoder) release() error {
	if e.held < 0 {
		return nil
	}
	e.cb = Buffer{Index: e.held}
	e.held = -1
	if err := e.dev.Enqueue(Capture, &e.cb); err != nil {
		return fmt.Errorf("m2m: VIDIOC_QBUF CAPTURE %d: %w", e.cb.Index, err)
	}
	return nil
}

// remember records the sequence number of the frame stamped ts, in a ring
// as long as the Output queue.
func (e *Encoder) remember(ts time.Duration, seq uint32) {
	e.stamps[e.nstamp%len(e.stamps)] = stamp{ts, seq}
	e.nstamp++
}

// sequenceOf is the sequence number of the queued frame stamped ts.
func (e *Encoder) sequenceOf(ts time.Duration) (uint32, bool) {
	for k := 1; k <= min(e.nstamp, len(e.stamps)); k++ {
		if s := e.stamps[(e.nstamp-k)%len(e.stamps)]; s.ts == ts {
			return s.seq, true
		}
	}
	return 0, false
}

// freeOutput returns an Output buffer the driver does not hold, waiting
// for one when all are queued.
func (e *Encoder) freeOutput() (int, error) {
	deadline := time.Now().Add(e.cfg.Timeout)
	for {
		e.reclaim()
		if n := len(e.free); n > 0 {
			i := e.free[n-1]
			e.free = e.free[:n-1]
			return i, nil
		}
		if err := e.wait(deadline); err != nil {
			return 0, err
		}
	}
}

// reclaim takes back the Output buffers the driver is done with.
func (e *Encoder) reclaim() {
	for len(e.free) < len(e.out) {
		if err := e.dev.Dequeue(Output, &e.ob); err != nil {
			return
		}
		e.free = append(e.free, e.ob.Index)
	}
}

// wait blocks until the device has something, handling events; it fails
// after deadline.
func (e *Encoder) wait(deadline time.Time) error {
	left := time.Until(deadline)
	if left <= 0 {
		return fmt.Errorf("%w (%v)", ErrTimeout, e.cfg.Timeout)
	}
	r, err := e.dev.Wait(min(left, 100*time.Millisecond))
	if err != nil {
		return err
	}
	if r&ReadyEvent != 0 {
		return e.events()
	}
	return nil
}

// events takes the pending events. A source change means the stream's
// format is no longer the one set up: the encoder must be reopened.
func (e *Encoder) events() error {
	for range 16 {
		if err := e.dev.DequeueEvent(&e.ev); err != nil {
			if errors.Is(err, ErrNotReady) {
				return nil
			}
			return err
		}
		switch e.ev.Type {
		case eventSourceChange:
			e.log.Warn("the encoder signalled a source change", "changes", e.ev.Changes)
			return ErrSourceChange
		case eventEOS:
			e.log.Debug("the encoder signalled the end of the stream")
		}
	}
	return nil
}

// collect dequeues Capture buffers until one holds a coded picture.
func (e *Encoder) collect() (*encode.AccessUnit, error) {
	deadline := time.Now().Add(e.cfg.Timeout)
	e.hdrNALs = e.hdrNALs[:0]
	for {
		err := e.dev.Dequeue(Capture, &e.cb)
		switch {
		case errors.Is(err, ErrNotReady):
			if err := e.wait(deadline); err != nil {
				return nil, err
			}
			continue
		case errors.Is(err, ErrLast):
			return nil, fmt.Errorf("m2m: the encoder ended the stream (a drain nobody asked for)")
		case err != nil:
			return nil, fmt.Errorf("m2m: VIDIOC_DQBUF CAPTURE: %w", err)
		}
		b := &e.cb
		if b.Failed() {
			e.stats.Errors++
			e.wantKey.Store(true)
			if e.stats.Errors == 1 || e.stats.Errors%100 == 0 {
				e.log.Warn("the encoder flagged a coded frame as failed; dropping it", "failed", e.stats.Errors)
			}
			return nil, e.requeue(b.Index)
		}
		if b.BytesUsed == 0 {
			if b.Last() {
				return nil, fmt.Errorf("m2m: the encoder ended the stream (an empty LAST buffer)")
			}
			if err := e.requeue(b.Index); err != nil {
				return nil, err
			}
			continue
		}
		data := e.cap[b.Index][:b.BytesUsed]
		picture, err := e.parse(data, b)
		if err != nil {
			e.requeue(b.Index)
			return nil, err
		}
		if !picture {
			// A header-only buffer (SPS and PPS before the first
			// IDR): kept, and the picture still to come.
			if err := e.requeue(b.Index); err != nil {
				return nil, err
			}
			continue
		}
		e.held = b.Index
		e.au.Timestamp = b.Timestamp
		if seq, ok := e.sequenceOf(b.Timestamp); ok {
			e.au.Sequence = seq
		}
		e.stats.Coded++
		e.stats.Bytes += uint64(b.BytesUsed)
		if e.au.Keyframe {
			e.stats.Keyframes++
		}
		return &e.au, nil
	}
}

func (e *Encoder) requeue(i int) error {
	e.cb = Buffer{Index: i}
	if err := e.dev.Enqueue(Capture, &e.cb); err != nil {
		return fmt.Errorf("m2m: VIDIOC_QBUF CAPTURE %d: %w", i, err)
	}
	return nil
}

// parse fills e.au from one coded buffer and reports whether it held a
// picture.
func (e *Encoder) parse(data []byte, b *Buffer) (bool, error) {
	if e.cfg.Codec == FWHT {
		h, err := ParseFWHT(data)
		if err != nil {
			return false, err
		}
		e.nalus = append(e.nalus[:0], data)
		e.au = encode.AccessUnit{NALUs: e.nalus, Keyframe: h.IFrame()}
		return true, nil
	}
	nalus, err := splitAnnexB(e.nalus[:0], data)
	e.nalus = nalus
	if err != nil {
		return false, err
	}
	var idr, vcl, sps, pps bool
	for _, n := range nalus {
		switch {
		case nalType(n) == nalSPS:
			sps = true
			cacheIfNew(&e.sps, n)
		case nalType(n) == nalPPS:
			pps = true
			cacheIfNew(&e.pps, n)
		}
		idr = idr || nalType(n) == nalIDR
		vcl = vcl || isVCL(n)
	}
	if !vcl {
		// Keep the header for the picture that follows.
		e.hdr = append(e.hdr[:0], data...)
		e.hdrNALs, _ = splitAnnexB(e.hdrNALs[:0], e.hdr)
		return false, nil
	}
	if idr && (!sps || !pps) {
		// SPS and PPS before every IDR, from the header buffer of
		// this frame or the last ones seen.
		head := e.hdrNALs
		if len(head) == 0 {
			s, p := e.ParameterSets()
			if s != nil && p != nil {
				head = append(e.hdrNALs[:0], s, p)
				e.hdrNALs = head
			}
		}
		if len(head) > 0 {
			e.nalus = append(e.nalus, head...)
			n := len(e.nalus)
			copy(e.nalus[len(head):], e.nalus[:n-len(head)])
			copy(e.nalus, head)
		}
	}
	e.au = encode.AccessUnit{Codec: encode.H264, NALUs: e.nalus, Keyframe: idr}
	return true, nil
}

// Close drains the encoder (V4L2_ENC_CMD_STOP, up to the LAST buffer),
// stops both queues, unmaps and frees the buffers and closes the node.
// Later calls to Encode fail.
func (e *Encoder) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	e.release()
	if e.queued > 0 {
		if err := e.drain(); err != nil {
			e.log.Debug("drain", "err", err)
		}
	}
	return e.dev.Close()
}

// drain asks the driver to finish the frames it holds and waits for the
// LAST buffer (or its timeout); the coded frames are discarded.
func (e *Encoder) drain() error {
	if err := e.dev.Stop(); err != nil {
		return err
	}
	deadline := time.Now().Add(e.cfg.Timeout)
	for {
		err := e.dev.Dequeue(Capture, &e.cb)
		switch {
		case errors.Is(err, ErrLast):
			e.stats.Drained = true
			return nil
		case errors.Is(err, ErrNotReady):
			if err := e.wait(deadline); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		if e.cb.Last() {
			e.stats.Drained = true
			return nil
		}
		if err := e.requeue(e.cb.Index); err != nil {
			return err
		}
	}
}
