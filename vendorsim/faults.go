package vendorsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Error kinds of the error_rate fault.
const (
	ErrorKindTransient = "transient" // e.g. apns 503 ServiceUnavailable
	ErrorKindThrottle  = "throttle"  // e.g. apns 429 TooManyRequests
	ErrorKindMixed     = "mixed"     // either, evenly
)

// Latency kinds.
const (
	LatencyFixed     = "fixed"
	LatencyUniform   = "uniform"
	LatencyLognormal = "lognormal"
)

// FaultSet is what GET/PUT /_sim/faults exchange: global faults, and
// per-vendor entries that replace the global ones for that vendor.
type FaultSet struct {
	Global  Faults            `json:"global" yaml:"global"`
	Vendors map[string]Faults `json:"vendors,omitempty" yaml:"vendors,omitempty"`
	Seed    uint64            `json:"seed" yaml:"seed"` // 0: random
}

// Faults are the knobs that make a vendor misbehave.
type Faults struct {
	// ErrorRate is the share of valid requests answered with an error of
	// ErrorKind instead of success, 0..1.
	ErrorRate float64 `json:"error_rate" yaml:"error_rate"`
	ErrorKind string  `json:"error_kind,omitempty" yaml:"error_kind,omitempty"`

	// Latency delays every answer.
	Latency Latency `json:"latency" yaml:"latency"`

	// MaxStreams is the MAX_CONCURRENT_STREAMS new connections announce;
	// 0 keeps the vendor's own (VendorSpec.MaxStreams, else
	// Config.MaxStreams). A global value applies only to vendors without
	// a limit of their own. Only vendors whose handler follows connection
	// knobs (APNs) read it; open connections keep theirs.
	MaxStreams uint32 `json:"max_streams,omitempty" yaml:"max_streams,omitempty"`

	// GoAwayEvery sends GOAWAY after every N requests on one connection,
	// which then closes once its in-flight streams are answered; 0 = off.
	GoAwayEvery int `json:"goaway_every,omitempty" yaml:"goaway_every,omitempty"`

	// APNsRealism serves APNs connections with the emulator's own HTTP/2
	// loop (VENDORS.md §3: stream limit 1 until a JWT push succeeds and
	// after a rejection, REFUSED_STREAM, GOAWAY with debug data). nil
	// means on; false falls back to net/http's http2.Server. Read when a
	// connection opens.
	APNsRealism *bool `json:"apns_realism,omitempty" yaml:"apns_realism,omitempty"`

	// TokenTTL is how long a vendor accepts a token; APNs: the age of a
	// provider token (from its iat) at which ExpiredProviderToken starts.
	// 0 = the vendor's default (APNs 1 h).
	TokenTTL Duration `json:"token_ttl,omitempty" yaml:"token_ttl,omitempty"`

	// JWTUpdateWindow: an APNs connection that switches provider tokens
	// sooner than this after the last switch gets 429
	// TooManyProviderTokenUpdates. nil = 20 min; 0 = off.
	JWTUpdateWindow *Duration `json:"jwt_update_window,omitempty" yaml:"jwt_update_window,omitempty"`

	// NoRecord keeps counters only (VENDORS.md `record` off).
	NoRecord bool `json:"no_record,omitempty" yaml:"no_record,omitempty"`
}

// Latency is a delay distribution. Fixed uses P50; uniform draws from
// [Min, Max]; lognormal is fitted to P50 and P99.
type Latency struct {
	Kind string   `json:"kind,omitempty" yaml:"kind,omitempty"`
	P50  Duration `json:"p50,omitempty" yaml:"p50,omitempty"`
	P99  Duration `json:"p99,omitempty" yaml:"p99,omitempty"`
	Min  Duration `json:"min,omitempty" yaml:"min,omitempty"`
	Max  Duration `json:"max,omitempty" yaml:"max,omitempty"`
}

// Duration is a time.Duration written as text ("250ms") in JSON and YAML.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string like \"250ms\": %w", err)
	}
	return d.UnmarshalText([]byte(s))
}

func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Validate reports every bad field at once.
func (fs FaultSet) Validate() error {
	errs := []error{fs.Global.validate("global")}
	for v, f := range fs.Vendors {
		if !knownVendor(v) {
			errs = append(errs, fmt.Errorf("vendors: unknown vendor %q", v))
		}
		errs = append(errs, f.validate("vendors."+v))
	}
	return errors.Join(errs...)
}

func (f Faults) validate(at string) error {
	var errs []error
	if f.ErrorRate < 0 || f.ErrorRate > 1 || math.IsNaN(f.ErrorRate) {
		errs = append(errs, fmt.Errorf("%s.error_rate: %v not in 0..1", at, f.ErrorRate))
	}
	switch f.ErrorKind {
	case "", ErrorKindTransient, ErrorKindThrottle, ErrorKindMixed:
	default:
		errs = append(errs, fmt.Errorf("%s.error_kind: unknown %q", at, f.ErrorKind))
	}
	if f.MaxStreams > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("%s.max_streams: %d above 2^31-1", at, f.MaxStreams))
	}
	if f.GoAwayEvery < 0 {
		errs = append(errs, fmt.Errorf("%s.goaway_every: %d is negative", at, f.GoAwayEvery))
	}
	if f.TokenTTL < 0 {
		errs = append(errs, fmt.Errorf("%s.token_ttl: negative duration", at))
	}
	if f.JWTUpdateWindow != nil && *f.JWTUpdateWindow < 0 {
		errs = append(errs, fmt.Errorf("%s.jwt_update_window: negative duration", at))
	}
	l := f.Latency
	if l.P50 < 0 || l.P99 < 0 || l.Min < 0 || l.Max < 0 {
		errs = append(errs, fmt.Errorf("%s.latency: negative duration", at))
	}
	switch l.Kind {
	case "", LatencyFixed:
	case LatencyUniform:
		if l.Max < l.Min {
			errs = append(errs, fmt.Errorf("%s.latency.max: below min", at))
		}
	case LatencyLognormal:
		if l.P50 <= 0 || l.P99 < l.P50 {
			errs = append(errs, fmt.Errorf("%s.latency: lognormal needs 0 < p50 <= p99", at))
		}
	default:
		errs = append(errs, fmt.Errorf("%s.latency.kind: unknown %q", at, l.Kind))
	}
	return errors.Join(errs...)
}

// faultState holds the current faults and the random source they draw from.
type faultState struct {
	mu  sync.Mutex
	set FaultSet
	rng *rand.Rand
}

func newFaultState(fs FaultSet) *faultState {
	st := &faultState{}
	st.replace(fs)
	return st
}

func (st *faultState) replace(fs FaultSet) {
	seed := fs.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.set = fs
	st.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func (st *faultState) get() FaultSet {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.set
}

// vendorFaults returns the faults in force for vendor: its own entry,
// else the global one.
func (st *faultState) vendorFaults(vendor string) (f Faults, own bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if f, ok := st.set.Vendors[vendor]; ok {
		return f, true
	}
	return st.set.Global, false
}

// Faults returns the faults in force for the vendor now: its own entry of
// the fault set, else the global one. Connection knobs (max_streams,
// goaway_every, token_ttl, ...) are read from here.
func (e *VendorEnv) Faults() Faults {
	f, _ := e.sim.faults.vendorFaults(e.name)
	return f
}

// realism reports whether APNs realism is on (nil counts as on).
func (f Faults) realism() bool {
	return f.APNsRealism == nil || *f.APNsRealism
}

// FaultDraw is what the faults decided for one request.
type FaultDraw struct {
	// ErrorKind is "" (no injected error), ErrorKindTransient or
	// ErrorKindThrottle; each vendor answers it its own way.
	ErrorKind string
	// Delay is the injected latency, added before the answer.
	Delay time.Duration
	// NoRecord counts the request without storing its record.
	NoRecord bool
}

// draw decides the injected error and delay of one request to vendor.
func (st *faultState) draw(vendor string) FaultDraw {
	st.mu.Lock()
	defer st.mu.Unlock()
	f, ok := st.set.Vendors[vendor]
	if !ok {
		f = st.set.Global
	}

	d := FaultDraw{NoRecord: f.NoRecord, Delay: st.delayLocked(f.Latency)}
	if f.ErrorRate > 0 && st.rng.Float64() < f.ErrorRate {
		d.ErrorKind = f.ErrorKind
		switch d.ErrorKind {
		case "":
			d.ErrorKind = ErrorKindTransient
		case ErrorKindMixed:
			d.ErrorKind = ErrorKindTransient
			if st.rng.IntN(2) == 0 {
				d.ErrorKind = ErrorKindThrottle
			}
		}
	}
	return d
}

func (st *faultState) delayLocked(l Latency) time.Duration {
	switch l.Kind {
	case LatencyUniform:
		span := int64(l.Max - l.Min)
		if span <= 0 {
			return time.Duration(l.Min)
		}
		return time.Duration(int64(l.Min) + st.rng.Int64N(span+1))
	case LatencyLognormal:
		// ln X ~ N(mu, sigma): the median is e^mu and the 99th
		// percentile e^(mu + 2.326 sigma).
		mu := math.Log(float64(l.P50))
		sigma := (math.Log(float64(l.P99)) - mu) / 2.3263
		return time.Duration(math.Exp(mu + sigma*st.rng.NormFloat64()))
	default:
		return time.Duration(l.P50)
	}
}
