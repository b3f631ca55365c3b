module github.com/camagent/camagent

go 1.26.8

require (
	github.com/pion/rtp v1.10.6
	golang.org/x/sys v0.49.0
)

require (
	github.com/blackjack/webcam v0.6.1 // indirect
	github.com/bluenviron/gortsplib/v5 v5.0.0 // indirect
	github.com/bluenviron/mediacommon/v2 v2.9.3 // indirect
	github.com/coreos/go-systemd/v22 v22.5.0 // indirect
	github.com/ebitengine/purego v0.9.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/kelseyhightower/envconfig v1.4.0 // indirect
	github.com/pion/logging v0.2.4 // indirect
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/rtcp v1.2.20 // indirect
	github.com/pion/sdp/v3 v3.0.20 // indirect
	github.com/pion/srtp/v3 v3.0.7 // indirect
	github.com/pion/transport/v3 v3.0.7 // indirect
	golang.org/x/net v0.44.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
)
