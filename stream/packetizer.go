package stream

import (
	"fmt"
	"math/rand/v2"

	"github.com/camagent/camagent/encode"
	"github.com/camagent/camagent/stream/rtph264"
	"github.com/camagent/camagent/stream/rtpjpeg"
	"github.com/camagent/camagent/stream/rtppkt"
)

// packetizer appends the RTP packets of one access unit to dst.
type packetizer func(dst *rtppkt.Packets, au *encode.AccessUnit, ts uint32) error

// H.264 uses the first dynamic payload type; JPEG has the static type 26.
const (
	payloadTypeH264 = 96
	payloadTypeJPEG = 26
)

func newPacketizer(codec encode.Codec, width, height, payloadMax int, ssrc uint32) (packetizer, error) {
	switch codec {
	case encode.H264:
		p := &rtph264.Packetizer{PayloadType: payloadTypeH264, SSRC: ssrc, PayloadMaxSize: payloadMax, InitialSequence: uint16(rand.Uint32())}
		if err := p.Init(); err != nil {
			return nil, fmt.Errorf("stream: %w", err)
		}
		return func(dst *rtppkt.Packets, au *encode.AccessUnit, ts uint32) error {
			return p.Packetize(dst, au.NALUs, ts)
		}, nil
	case encode.MJPEG:
		if err := rtpjpeg.CheckMode(width, height); err != nil {
			return nil, fmt.Errorf("stream: %w", err)
		}
		p := &rtpjpeg.Packetizer{SSRC: ssrc, PayloadMaxSize: payloadMax, InitialSequence: uint16(rand.Uint32())}
		if err := p.Init(); err != nil {
			return nil, fmt.Errorf("stream: %w", err)
		}
		return func(dst *rtppkt.Packets, au *encode.AccessUnit, ts uint32) error {
			return p.Packetize(dst, au.JPEG, ts)
		}, nil
	}
	return nil, fmt.Errorf("stream: unsupported codec %v", codec)
}

func payloadType(c encode.Codec) uint8 {
	if c == encode.MJPEG {
		return payloadTypeJPEG
	}
	return payloadTypeH264
}
