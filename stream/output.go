package stream

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/camagent/camagent/stream/report"
	"github.com/camagent/camagent/stream/rtppkt"
)

// packetWriter sends one session's RTP and RTCP.
type packetWriter interface {
	// writeBurst sends every packet of b, numbering them from *seq on.
	writeBurst(b *burst, seq *uint16, sr *report.Sender) error
	writeRTCP(pkt []byte) error
}

// udpWriter sends to a unicast client from the server's shared UDP ports.
type udpWriter struct {
	rtp, rtcp         *net.UDPConn
	rtpDst, rtcpDst   netip.AddrPort
	scratch           [2048]byte
	consecutiveErrors int
}

func (w *udpWriter) writeBurst(b *burst, seq *uint16, sr *report.Sender) error {
	for i := range b.pkts.Len() {
		p := b.pkts.At(i)
		n := copy(w.scratch[:], p)
		rtppkt.SetSequence(w.scratch[:n], *seq)
		*seq++
		sr.OnPacket(b.rtpTS, b.capture, n-rtppkt.HeaderSize)
		if _, err := w.rtp.WriteToUDPAddrPort(w.scratch[:n], w.rtpDst); err != nil {
			// A UDP send error (ICMP unreachable, full buffer) is not fatal
			// by itself; a client that has gone for good is reaped by the
			// session timeout, and a run of errors ends the session sooner.
			w.consecutiveErrors++
			if w.consecutiveErrors > 1000 {
				return fmt.Errorf("UDP send to %v: %w", w.rtpDst, err)
			}
			continue
		}
		w.consecutiveErrors = 0
	}
	return nil
}

func (w *udpWriter) writeRTCP(pkt []byte) error {
	_, err := w.rtcp.WriteToUDPAddrPort(pkt, w.rtcpDst)
	return err
}

// tcpWriter interleaves RTP and RTCP into the RTSP connection (RFC 2326 §10.12).
type tcpWriter struct {
	c                      *conn
	rtpChannel, rtcpChanel byte
	timeout                time.Duration
}

func (w *tcpWriter) writeBurst(b *burst, seq *uint16, sr *report.Sender) error {
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	w.c.nc.SetWriteDeadline(time.Now().Add(w.c.srv.writeTimeout(w.timeout)))
	bw := w.c.bw
	var hdr [6]byte
	for i := range b.pkts.Len() {
		p := b.pkts.At(i)
		hdr[0] = '$'
		hdr[1] = w.rtpChannel
		binary.BigEndian.PutUint16(hdr[2:], uint16(len(p)))
		binary.BigEndian.PutUint16(hdr[4:], *seq)
		*seq++
		sr.OnPacket(b.rtpTS, b.capture, len(p)-rtppkt.HeaderSize)
		bw.Write(hdr[:4])
		bw.Write(p[:2])
		bw.Write(hdr[4:6])
		bw.Write(p[4:])
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("TCP send: %w", err)
	}
	return nil
}

func (w *tcpWriter) writeRTCP(pkt []byte) error {
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	w.c.nc.SetWriteDeadline(time.Now().Add(w.c.srv.writeTimeout(w.timeout)))
	return writeInterleaved(w.c.bw, w.rtcpChanel, pkt)
}

func writeInterleaved(bw *bufio.Writer, ch byte, pkt []byte) error {
	var hdr [4]byte
	hdr[0] = '$'
	hdr[1] = ch
	binary.BigEndian.PutUint16(hdr[2:], uint16(len(pkt)))
	bw.Write(hdr[:])
	bw.Write(pkt)
	return bw.Flush()
}
