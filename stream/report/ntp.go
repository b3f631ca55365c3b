package report

import "time"

// ntpEpochOffset is the number of seconds from the NTP epoch (1900-01-01)
// to the Unix epoch (1970-01-01).
const ntpEpochOffset = 2208988800

// NTPTime converts t to a 64-bit NTP timestamp (RFC 5905): whole seconds
// since 1900 in the high 32 bits, the binary fraction of a second in the low
// 32 bits. The fraction is truncated, not rounded. Times from 2036 on wrap
// into NTP era 1, as RFC 3550 senders and receivers expect.
func NTPTime(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := (uint64(t.Nanosecond()) << 32) / uint64(time.Second)
	return secs<<32 | frac
}

// ntpMiddle returns the middle 32 bits of an NTP timestamp, the form used by
// the LSR field of reception reports and by the RTT computation.
func ntpMiddle(ntp uint64) uint32 { return uint32(ntp >> 16) }

// shortNTPDuration converts a signed count of 1/65536 s units to a duration.
func shortNTPDuration(units int64) time.Duration {
	return time.Duration(units * int64(time.Second) / 65536)
}
