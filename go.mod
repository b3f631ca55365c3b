module github.com/camagent/camagent

go 1.26.8

require (
	github.com/pion/rtp v1.10.6
	golang.org/x/sys v0.49.0
)

require github.com/pion/randutil v0.1.0 // indirect
