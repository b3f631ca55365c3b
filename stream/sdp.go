package stream

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/camagent/camagent/encode"
	"github.com/camagent/camagent/stream/rtph264"
)

// trackControl is the a=control of the one video track.
const trackControl = "trackID=0"

// describeWait bounds how long DESCRIBE waits for a passthrough camera's
// first SPS/PPS.
const describeWait = 5 * time.Second

var sdpSessionID = rand.Uint64() >> 1

// sdp describes the stream (RFC 4566, RFC 6184 §8.2.1, RFC 2435).
func (s *Server) sdp(local net.Addr) ([]byte, error) {
	cfg := s.stream.cfg
	host := "0.0.0.0"
	if ta, ok := local.(*net.TCPAddr); ok && ta.IP.To4() != nil {
		host = ta.IP.String()
	}
	pt := payloadType(cfg.Codec)
	attrs := []sdp.Attribute{
		{Key: "control", Value: trackControl},
	}
	switch cfg.Codec {
	case encode.H264:
		sps, pps, err := s.stream.ParameterSets(describeWait)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs,
			sdp.Attribute{Key: "rtpmap", Value: fmt.Sprintf("%d H264/%d", pt, ClockRate)},
			sdp.Attribute{Key: "fmtp", Value: fmt.Sprintf("%d packetization-mode=1;profile-level-id=%s;sprop-parameter-sets=%s",
				pt, rtph264.ProfileLevelID(sps), rtph264.SpropParameterSets(sps, pps))},
			sdp.Attribute{Key: "rtcp-fb", Value: fmt.Sprintf("%d nack pli", pt)},
			sdp.Attribute{Key: "rtcp-fb", Value: fmt.Sprintf("%d ccm fir", pt)},
		)
	case encode.MJPEG:
		attrs = append(attrs, sdp.Attribute{Key: "rtpmap", Value: fmt.Sprintf("%d JPEG/%d", pt, ClockRate)})
	}
	attrs = append(attrs,
		sdp.Attribute{Key: "framerate", Value: strconv.Itoa(cfg.FPS)},
		sdp.Attribute{Key: "x-dimensions", Value: fmt.Sprintf("%d,%d", cfg.Width, cfg.Height)},
		// The direction is the client's: it receives. ONVIF clients (and
		// gortsplib, go2rtc, mediamtx after them) read a=sendonly on a
		// camera's track as an audio back channel the client must feed,
		// and refuse to play it; IP cameras mark their tracks recvonly.
		sdp.Attribute{Key: "recvonly"},
	)
	d := &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username: "-", SessionID: sdpSessionID, SessionVersion: 1,
			NetworkType: "IN", AddressType: "IP4", UnicastAddress: host,
		},
		SessionName: "camagent",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: "IP4", Address: &sdp.Address{Address: "0.0.0.0"},
		},
		TimeDescriptions: []sdp.TimeDescription{{}},
		Attributes: []sdp.Attribute{
			{Key: "control", Value: "*"},
			{Key: "range", Value: "npt=now-"},
		},
		MediaDescriptions: []*sdp.MediaDescription{{
			MediaName: sdp.MediaName{
				Media: "video", Port: sdp.RangedPort{Value: 0},
				Protos: []string{"RTP", "AVP"}, Formats: []string{strconv.Itoa(int(pt))},
			},
			Attributes: attrs,
		}},
	}
	return d.Marshal()
}
