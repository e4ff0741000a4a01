package vendorsim

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStartConfigErrors(t *testing.T) {
	creds, err := GenCreds(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	occupied, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer occupied.Close()
	port := occupied.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no creds", Config{}, "CredsFile"},
		{"missing creds file", Config{CredsFile: "/nonexistent/v.yaml"}, "read creds file"},
		{"bad port", Config{CredsFile: creds.ConfigFile, APNsPort: 70000}, "APNsPort"},
		{"occupied port", Config{CredsFile: creds.ConfigFile, APNsPort: port}, "listen apns on"},
		{"occupied control", Config{CredsFile: creds.ConfigFile, ControlAddr: occupied.Addr().String()},
			"listen control on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, err := Start(tt.cfg)
			if err == nil {
				sim.Close()
				t.Fatalf("Start succeeded, want an error naming %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start error = %v, want it to name %q", err, tt.want)
			}
		})
	}
}

func TestStartReusesCADir(t *testing.T) {
	creds, err := GenCreds(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var pems [][]byte
	for range 2 {
		sim, err := Start(Config{CredsFile: creds.ConfigFile, CADir: dir, Logger: testLogger(t)})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		pems = append(pems, sim.CAPEM())
		sim.Close()
	}
	if !bytes.Equal(pems[0], pems[1]) {
		t.Fatal("second start made a new CA, want the one in CADir")
	}
}

func TestLoadCredsRejectsBadFiles(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"empty team", "apns:\n  teams:\n    - team_id: \"\"\n", "team_id"},
		{"bad key", "apns:\n  teams:\n    - team_id: T1\n      keys: {K1: nope}\n", "keys[K1]"},
		{"voip bundle", "apns:\n  teams:\n    - team_id: T1\n      bundle_ids: [a.voip]\n", "bundle"},
		{"bad ca", "apns:\n  client_ca_pem: nope\n", "client_ca_pem"},
		{"bad faults", "faults:\n  global:\n    error_rate: 3\n", "error_rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := t.TempDir() + "/v.yaml"
			if err := writeFile(path, tt.yaml); err != nil {
				t.Fatal(err)
			}
			_, _, err := loadCreds(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("loadCreds = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}

func TestRecorderRingKeepsNewest(t *testing.T) {
	rc := newRecorder(3)
	for i := range 5 {
		rc.add(Record{Vendor: VendorAPNs, Token: strconv.Itoa(i), Status: 200}, true)
	}
	recs, _ := rc.matching(Filter{})
	if len(recs) != 3 || recs[0].Token != "2" || recs[2].Token != "4" || recs[2].Seq != 5 {
		t.Fatalf("ring = %+v, want tokens 2..4 with seq up to 5", recs)
	}
	if n := rc.snapshot()[VendorAPNs].Requests; n != 5 {
		t.Errorf("requests = %d, want 5", n)
	}

	rc.add(Record{Vendor: VendorAPNs, Token: "x"}, false)
	if recs, _ := rc.matching(Filter{Token: "x"}); len(recs) != 0 {
		t.Errorf("unrecorded request stored: %+v", recs)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := rc.wait(ctx, 4, Filter{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait for 4 of 3 = %v, want DeadlineExceeded", err)
	}
}

func TestAPNsOutcome(t *testing.T) {
	tests := []struct {
		ans  apnsAnswer
		want string
	}{
		{apnsAnswer{status: 200}, OutcomeDelivered},
		{apnsAnswer{status: 410, reason: "Unregistered"}, OutcomeTokenInvalid},
		{apnsAnswer{status: 410, reason: "ExpiredToken"}, OutcomeTokenInvalid},
		{apnsAnswer{status: 400, reason: "BadDeviceToken"}, OutcomeTokenInvalid},
		{apnsAnswer{status: 400, reason: "DeviceTokenNotForTopic"}, OutcomeTokenInvalid},
		{apnsAnswer{status: 400, reason: "TopicDisallowed"}, OutcomeCredentialError},
		{apnsAnswer{status: 400, reason: "BadPriority"}, OutcomePayloadError},
		{apnsAnswer{status: 400, reason: "IdleTimeout"}, OutcomeRetryable},
		{apnsAnswer{status: 403, reason: "InvalidProviderToken"}, OutcomeCredentialError},
		{apnsAnswer{status: 413, reason: "PayloadTooLarge"}, OutcomePayloadError},
		{apnsAnswer{status: 429, reason: "TooManyProviderTokenUpdates"}, OutcomeThrottled},
		{apnsAnswer{status: 503, reason: "ServiceUnavailable"}, OutcomeRetryable},
		{apnsAnswer{refuse: true}, OutcomeRetryable},
		{apnsAnswer{hang: true}, OutcomeRetryable},
	}
	for _, tt := range tests {
		if got := apnsOutcome(tt.ans); got != tt.want {
			t.Errorf("apnsOutcome(%+v) = %s, want %s", tt.ans, got, tt.want)
		}
	}
}

func TestIsUUID(t *testing.T) {
	for s, want := range map[string]bool{
		testAPNsID:                             true,
		strings.ToUpper(testAPNsID):            true,
		newUUID():                              true,
		"3f9d5c1e0b7a4c559e2a5a1f2b3c4d5e":     false,
		"3f9d5c1e-0b7a-4c55-9e2a-5a1f2b3c4d5g": false,
	} {
		if got := isUUID(s); got != want {
			t.Errorf("isUUID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestFaultDraw(t *testing.T) {
	st := newFaultState(FaultSet{Seed: 7, Global: Faults{
		ErrorRate: 1, ErrorKind: ErrorKindMixed,
		Latency: Latency{
			Kind: LatencyUniform,
			Min:  Duration(time.Millisecond),
			Max:  Duration(3 * time.Millisecond),
		},
	}})
	kinds := map[string]int{}
	for range 200 {
		d := st.draw(VendorAPNs)
		kinds[d.ErrorKind]++
		if d.Delay < time.Millisecond || d.Delay > 3*time.Millisecond {
			t.Fatalf("uniform delay %v outside [1ms, 3ms]", d.Delay)
		}
	}
	if kinds[ErrorKindTransient] == 0 || kinds[ErrorKindThrottle] == 0 || kinds[""] != 0 {
		t.Errorf("mixed kinds = %v, want both transient and throttle, never none", kinds)
	}

	st.replace(FaultSet{Global: Faults{Latency: Latency{Kind: LatencyLognormal,
		P50: Duration(10 * time.Millisecond), P99: Duration(100 * time.Millisecond)}}})
	for range 100 {
		if d := st.draw(VendorAPNs); d.ErrorKind != "" || d.Delay <= 0 {
			t.Fatalf("lognormal draw = %+v, want no error and a positive delay", d)
		}
	}
}

func writeFile(path, data string) error {
	return os.WriteFile(path, []byte(data), 0o600)
}
