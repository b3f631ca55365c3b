package stream

import "time"

// srSchedule times a sender's RTCP sender reports: one right after the first
// frame is sent, a second one a second later (a receiver that had not yet
// learned the SSRC when the first arrived can still map RTP time to wall
// time quickly), then one every interval.
type srSchedule struct {
	timer    *time.Timer
	interval time.Duration
	started  bool
}

const secondReportAfter = time.Second

func newSRSchedule(interval time.Duration) *srSchedule {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &srSchedule{timer: t, interval: interval}
}

// C fires when a report is due.
func (s *srSchedule) C() <-chan time.Time { return s.timer.C }

// sent is called after each burst of RTP; it sends the first report.
func (s *srSchedule) sent(report func()) {
	if s.started {
		return
	}
	s.started = true
	report()
	s.timer.Reset(min(secondReportAfter, s.interval))
}

// fired is called when C fires.
func (s *srSchedule) fired(report func()) {
	report()
	s.timer.Reset(s.interval)
}

func (s *srSchedule) stop() { s.timer.Stop() }
