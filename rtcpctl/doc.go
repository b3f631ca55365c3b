// Package rtcpctl is where camagent's adaptive rate controller will live:
// policy that turns what viewers report over RTCP (loss, jitter, round-trip
// time, keyframe requests) into decisions about bitrate, frame rate and
// resolution, applied through small actuator interfaces that the encoder and
// capture packages implement.
//
// For now it only records: Recorder keeps the latest figures of each viewer
// session for inspection, and forwards keyframe requests (PLI, FIR) to the
// encoder, rate-limited so that a burst of requests from many viewers does
// not flood the encoder with keyframes.
package rtcpctl
