// Package rtpjpeg packetizes baseline JPEG images into RTP packets as
// RFC 2435 describes: payload type 26, a main JPEG header on every packet, a
// restart marker header when the image has a restart interval, the image's
// own quantization tables (Q=255) in the first packet, then the
// entropy-coded scan data in fragments.
//
// Images are validated first (see Parse) so that a camera sending something
// RFC 2435 cannot carry gets a descriptive error instead of a broken stream.
// Packetize does not allocate once the destination buffer has grown.
package rtpjpeg

import (
	"errors"
	"fmt"

	"github.com/camagent/camagent/stream/rtppkt"
)

// Constants of the packetizer.
const (
	// PayloadType is the static RTP payload type of JPEG (RFC 3551).
	PayloadType = 26

	// DefaultPayloadMaxSize is the largest RTP payload Packetizer writes
	// when PayloadMaxSize is zero: 1200 + 12 (RTP) + 8 (UDP) + 40 (IPv6)
	// fits the IPv6 minimum MTU of 1280 and survives PPPoE and VPN paths.
	DefaultPayloadMaxSize = 1200

	// MinPayloadMaxSize fits the first packet's headers (main JPEG header
	// 8, restart marker header 4, quantization table header 4 + 128) and
	// one byte of scan data.
	MinPayloadMaxSize = mainHeaderSize + restartHeaderSize + quantHeaderSize + 1

	// MaxPayloadMaxSize keeps a packet within the 16-bit length of RTSP
	// interleaved framing.
	MaxPayloadMaxSize = 65535 - rtppkt.HeaderSize

	// maxScan is the most scan data the 24-bit fragment offset can address.
	maxScan = 1 << 24

	mainHeaderSize    = 8
	restartHeaderSize = 4
	quantHeaderSize   = 4 + 2*64

	// quality 255: the quantization tables travel in-band with each frame.
	qInBand = 255
)

// Errors of Init and Packetize that are not about the image.
var (
	ErrNotInitialized = errors.New("rtpjpeg: packetizer not initialized")
	ErrOption         = errors.New("rtpjpeg: invalid option")
)

// Packetizer turns JPEG images into RTP packets. It is not safe for
// concurrent use.
type Packetizer struct {
	// PayloadMaxSize is the largest RTP payload written, in bytes. Zero
	// means DefaultPayloadMaxSize.
	PayloadMaxSize int
	// SSRC of the packets.
	SSRC uint32
	// InitialSequence is the sequence number of the first packet.
	InitialSequence uint16

	ready bool
	seq   uint16
}

// Init validates the options, fills in defaults and resets the sequence
// number to InitialSequence.
func (p *Packetizer) Init() error {
	if p.PayloadMaxSize == 0 {
		p.PayloadMaxSize = DefaultPayloadMaxSize
	}
	if p.PayloadMaxSize < MinPayloadMaxSize || p.PayloadMaxSize > MaxPayloadMaxSize {
		return fmt.Errorf("%w: PayloadMaxSize %d is outside %d..%d",
			ErrOption, p.PayloadMaxSize, MinPayloadMaxSize, MaxPayloadMaxSize)
	}
	p.seq = p.InitialSequence
	p.ready = true
	return nil
}

// NextSequence is the sequence number the next packet will carry.
func (p *Packetizer) NextSequence() uint16 { return p.seq }

// Packetize appends to dst the RTP packets of one JPEG image (SOI to EOI).
// All packets carry timestamp ts; the last one has the marker bit set. An
// image Parse rejects gives its error and no packet.
func (p *Packetizer) Packetize(dst *rtppkt.Packets, jpeg []byte, ts uint32) error {
	if !p.ready {
		return ErrNotInitialized
	}
	img, err := Parse(jpeg)
	if err != nil {
		return err
	}
	if len(img.Scan) >= maxScan {
		return fmt.Errorf("%w: %d bytes of scan data exceed RFC 2435's 24-bit fragment offset",
			ErrUnsupported, len(img.Scan))
	}

	scan := img.Scan
	restart := img.RestartInterval != 0
	for off := 0; off < len(img.Scan); {
		room := p.PayloadMaxSize - mainHeaderSize
		if restart {
			room -= restartHeaderSize
		}
		if off == 0 {
			room -= quantHeaderSize
		}
		n := min(room, len(scan))
		dst.Begin(rtppkt.Header{
			PayloadType: PayloadType,
			Marker:      n == len(scan),
			Sequence:    p.seq,
			Timestamp:   ts,
			SSRC:        p.SSRC,
		})
		p.seq++

		// Main JPEG header (RFC 2435 §3.1): type-specific 0 (progressive
		// frame), fragment offset, type, Q, width/8, height/8.
		_ = dst.WriteByte(0)
		_ = dst.WriteByte(byte(off >> 16))
		_ = dst.WriteByte(byte(off >> 8))
		_ = dst.WriteByte(byte(off))
		_ = dst.WriteByte(img.Type)
		_ = dst.WriteByte(qInBand)
		_ = dst.WriteByte(byte(img.Width / 8))
		_ = dst.WriteByte(byte(img.Height / 8))
		if restart {
			// Restart marker header (§3.1.7): F=L=1 and count 0x3FFF, as
			// fragments do not fall on restart interval boundaries.
			_ = dst.WriteByte(byte(img.RestartInterval >> 8))
			_ = dst.WriteByte(byte(img.RestartInterval))
			_ = dst.WriteByte(0xff)
			_ = dst.WriteByte(0xff)
		}
		if off == 0 {
			// Quantization table header (§3.1.8): MBZ, precision (8-bit
			// for both tables), length, luminance then chrominance table.
			_ = dst.WriteByte(0)
			_ = dst.WriteByte(0)
			_ = dst.WriteByte(byte(2 * 64 >> 8))
			_ = dst.WriteByte(byte(2 * 64 & 0xff))
			dst.Write(img.Quant[0])
			dst.Write(img.Quant[1])
		}
		dst.Write(scan[:n])
		dst.End()
		scan = scan[n:]
		off += n
	}
	return nil
}
