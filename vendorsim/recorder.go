package vendorsim

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Outcome classes of VENDORS.md §1.4: the class an answer is meant to
// produce in a correct client.
const (
	OutcomeDelivered       = "delivered"
	OutcomeTokenInvalid    = "token-invalid"
	OutcomeRetryable       = "retryable"
	OutcomeThrottled       = "throttled"
	OutcomeCredentialError = "credential-error"
	OutcomePayloadError    = "payload-error"
)

// Record is one request as the emulator saw and answered it.
type Record struct {
	Seq        uint64            `json:"seq"`
	Vendor     string            `json:"vendor"`
	App        string            `json:"app"` // apns: the topic
	Token      string            `json:"token"`
	Method     string            `json:"method"`
	Path       string            `json:"path"`
	Headers    map[string]string `json:"headers"` // lowercased, secrets masked
	Auth       RecordAuth        `json:"auth"`
	Payload    json.RawMessage   `json:"payload"` // JSON; other text as a JSON string
	Status     int               `json:"status"`  // 0: no HTTP answer (reset, hang)
	VendorCode string            `json:"vendor_code"`
	Outcome    string            `json:"outcome"`
	Attempt    int               `json:"attempt"` // 1 for the first of token+payload
	Conn       uint64            `json:"conn"`
	Stream     uint32            `json:"stream"`
	ReceivedAt time.Time         `json:"received_at"`
	AnsweredAt time.Time         `json:"answered_at"`
}

// RecordAuth says how a request authenticated.
type RecordAuth struct {
	Scheme  string `json:"scheme"`  // "bearer", "cert" or "" (none)
	Subject string `json:"subject"` // team id, or certificate UID
}

// Filter selects records; empty fields match everything. Since keeps
// records with a sequence number above it.
type Filter struct {
	Vendor, Token, Outcome string
	Since                  uint64
}

func (f Filter) match(r *Record) bool {
	return r.Seq > f.Since &&
		(f.Vendor == "" || f.Vendor == r.Vendor) &&
		(f.Token == "" || f.Token == r.Token) &&
		(f.Outcome == "" || f.Outcome == r.Outcome)
}

// VendorCounters are the per-vendor counters of GET /_sim/counters.
type VendorCounters struct {
	Requests       uint64            `json:"requests"`
	Answers        map[string]uint64 `json:"answers"` // "200", "400 BadDeviceToken", …
	TokenFetches   uint64            `json:"token_fetches"`
	Connections    uint64            `json:"connections"`
	GoAways        uint64            `json:"goaways"`
	RefusedStreams uint64            `json:"refused_streams"`
	InFlight       int64             `json:"in_flight"`
	PeakInFlight   int64             `json:"peak_in_flight"`
}

// recorder keeps the last limit records in a ring and the counters, and
// wakes waiters whenever a record arrives.
type recorder struct {
	limit int

	mu       sync.Mutex
	ring     []Record // oldest first after start
	start    int      // index of the oldest record once the ring is full
	seq      uint64   // last sequence number handed out; never reset
	counters map[string]*VendorCounters
	changed  chan struct{} // closed and replaced on every new record
}

func newRecorder(limit int) *recorder {
	return &recorder{
		limit:    limit,
		counters: map[string]*VendorCounters{},
		changed:  make(chan struct{}),
	}
}

// vendorLocked returns the counters of vendor, creating them.
func (rc *recorder) vendorLocked(vendor string) *VendorCounters {
	c := rc.counters[vendor]
	if c == nil {
		c = &VendorCounters{Answers: map[string]uint64{}}
		rc.counters[vendor] = c
	}
	return c
}

// add counts r and, if keep, stores it with the next sequence number.
func (rc *recorder) add(r Record, keep bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()

	c := rc.vendorLocked(r.Vendor)
	c.Requests++
	answer := fmt.Sprint(r.Status)
	if r.VendorCode != "" {
		answer += " " + r.VendorCode
	}
	c.Answers[answer]++
	if !keep {
		return
	}

	rc.seq++
	r.Seq = rc.seq
	if len(rc.ring) < rc.limit {
		rc.ring = append(rc.ring, r)
	} else {
		rc.ring[rc.start] = r
		rc.start = (rc.start + 1) % rc.limit
	}
	close(rc.changed)
	rc.changed = make(chan struct{})
}

// update changes the counters of vendor under the lock.
func (rc *recorder) update(vendor string, fn func(c *VendorCounters)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	fn(rc.vendorLocked(vendor))
}

// matching returns the stored records f selects, oldest first, and the
// channel that closes when the next record arrives.
func (rc *recorder) matching(f Filter) ([]Record, <-chan struct{}) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := []Record{}
	for i := range rc.ring {
		r := &rc.ring[(rc.start+i)%len(rc.ring)]
		if f.match(r) {
			out = append(out, *r)
		}
	}
	return out, rc.changed
}

// wait returns once count records match f, or the records so far and the
// context's error.
func (rc *recorder) wait(ctx context.Context, count int, f Filter) ([]Record, error) {
	for {
		recs, changed := rc.matching(f)
		if len(recs) >= count {
			return recs, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return recs, fmt.Errorf("wait for %d records, have %d: %w", count, len(recs), ctx.Err())
		}
	}
}

// snapshot copies the counters.
func (rc *recorder) snapshot() map[string]VendorCounters {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]VendorCounters, len(rc.counters))
	for v, c := range rc.counters {
		cp := *c
		cp.Answers = make(map[string]uint64, len(c.Answers))
		for k, n := range c.Answers {
			cp.Answers[k] = n
		}
		out[v] = cp
	}
	return out
}

// reset clears records and counters. In-flight gauges survive, since the
// streams they count are still open; sequence numbers keep growing so a
// Since cursor taken before stays valid.
func (rc *recorder) reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.ring = nil
	rc.start = 0
	for v, c := range rc.counters {
		rc.counters[v] = &VendorCounters{
			Answers:      map[string]uint64{},
			InFlight:     c.InFlight,
			PeakInFlight: c.InFlight,
		}
	}
}
