package vendorsim

import (
	"net/http"
	"slices"
	"time"

	"golang.org/x/net/http2"
)

// dispatchLocked hands a complete request to a handler goroutine.
func (ac *apnsConn) dispatchLocked(s *apnsStream) {
	s.state = streamHandling
	ac.handlers.Add(1)
	go ac.handle(s)
}

// handle checks and answers one push as the net/http path does, with the
// stream id in the record.
func (ac *apnsConn) handle(s *apnsStream) {
	defer ac.handlers.Done()
	as := ac.srv
	x := as.env.Begin(s.req)
	x.Record.Stream = s.id
	ans := as.prepare(s.req, ac.c, s.body, x)

	ac.mu.Lock()
	defer ac.mu.Unlock()
	defer ac.flushLocked()
	ac.answerLocked(s, x, ans)
}

// answerLocked finishes the exchange and writes the answer: an HTTP
// answer, a refused stream, or a reset for a hang the simulator gave up.
// The stream limit moves before the answer goes out, so a client that
// reads the answer already knows the new limit.
func (ac *apnsConn) answerLocked(s *apnsStream, x *Exchange, ans apnsAnswer) {
	switch {
	case s.refused:
		x.Finish(0, codeRefusedStream, OutcomeRetryable) // counted when refused
		return
	case ans.hang || s.clientRS || ac.ended:
		x.Finish(0, codeHang, OutcomeRetryable)
		if !s.clientRS && !ac.ended {
			ac.resetLocked(s.id, http2.ErrCodeCancel)
		}
		return
	case ans.refuse:
		x.Finish(0, codeRefusedStream, OutcomeRetryable)
		ac.srv.env.Count(func(vc *VendorCounters) { vc.RefusedStreams++ })
		ac.resetLocked(s.id, http2.ErrCodeRefusedStream)
		return
	}

	x.Finish(ans.status, ans.code(), apnsOutcome(ans))
	ac.moveLimitLocked(s, ans.status == http.StatusOK)
	h, body := ac.srv.answerParts(s.req, ans)
	ac.writeHeadersLocked(s.id, ans.status, h, len(body) == 0)
	if len(body) == 0 {
		ac.closeStreamLocked(s)
	} else {
		s.state, s.pending = streamSending, body
		ac.flushStreamLocked(s)
	}
	if ans.reason == reasonExpiredProviderToken && ac.expiryTimer == nil {
		ac.expiryTimer = time.AfterFunc(time.Duration(ac.srv.expiredGoAway.Load()), func() {
			ac.goAway(http2.ErrCodeNo, goAwayExpired)
		})
	}
}

// moveLimitLocked applies VENDORS.md §3.2-3.4 after an answer on s: a
// success (re)opens the full limit, a rejection drops it to 1 and refuses
// the streams over it.
func (ac *apnsConn) moveLimitLocked(s *apnsStream, success bool) {
	want := uint32(1)
	if success {
		want = ac.full
	}
	if ac.limit == want {
		return
	}
	ac.limit = want
	ac.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: want})
	ac.sentLimits = append(ac.sentLimits, want)
	if !success {
		ac.shrinkLocked(s)
	}
}

// shrinkLocked refuses the open streams over the limit, keeping the
// oldest. The answered stream is left out (it is closing); streams whose
// answer is already out are kept.
func (ac *apnsConn) shrinkLocked(answered *apnsStream) {
	var open []uint32
	kept := uint32(0)
	for id, s := range ac.streams {
		switch {
		case s == answered:
		case s.state == streamSending:
			kept++
		default:
			open = append(open, id)
		}
	}
	slices.Sort(open)
	for _, id := range open {
		if kept < ac.limit {
			kept++
			continue
		}
		s := ac.streams[id]
		s.refused = true
		ac.srv.env.Count(func(vc *VendorCounters) { vc.RefusedStreams++ })
		ac.resetLocked(id, http2.ErrCodeRefusedStream)
	}
}
