package vendorsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// getJSON fetches a control URL and decodes the JSON answer into out.
func getJSON(t *testing.T, method, url string, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s answer %q: %v", method, url, data, err)
		}
	}
	return resp.StatusCode
}

func TestControlWaitReturnsWhenCountReached(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	jwtStr := freshJWT(t, creds)

	type waitResult struct {
		status int
		recs   []Record
	}
	done := make(chan waitResult, 1)
	go func() {
		var res waitResult
		defer func() { done <- res }()
		resp, err := http.Get(sim.ControlURL() +
			"/_sim/wait?count=3&vendor=apns&outcome=delivered&timeout=20s")
		if err != nil {
			return
		}
		defer resp.Body.Close()
		res.status = resp.StatusCode
		_ = json.NewDecoder(resp.Body).Decode(&res.recs)
	}()

	// One refusal that must not count, then three deliveries.
	p := defaultPush(creds, jwtStr)
	p.token = "baddev01"
	mustSend(t, c, sim, p)
	for range 3 {
		if got := mustSend(t, c, sim, defaultPush(creds, jwtStr)); got.status != 200 {
			t.Fatalf("push = %d %q, want 200", got.status, got.reason)
		}
	}

	res := <-done
	if res.status != 200 || len(res.recs) != 3 {
		t.Fatalf("wait = %d with %d records, want 200 with 3", res.status, len(res.recs))
	}
	for _, r := range res.recs {
		if r.Outcome != OutcomeDelivered {
			t.Errorf("waited record outcome = %s, want delivered", r.Outcome)
		}
	}
}

func TestControlWaitTimesOut(t *testing.T) {
	sim, _ := startSim(t)
	var body map[string]any
	st := getJSON(t, "GET", sim.ControlURL()+"/_sim/wait?count=1&timeout=50ms", "", &body)
	if st != http.StatusRequestTimeout || body["error"] == nil {
		t.Fatalf("wait with nothing sent = %d %v, want 408 with an error", st, body)
	}
}

func TestControlAPI(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	jwtStr := freshJWT(t, creds)
	mustSend(t, c, sim, defaultPush(creds, jwtStr))
	p := defaultPush(creds, jwtStr)
	p.token = "dead0001"
	mustSend(t, c, sim, p)

	var recs []Record
	st := getJSON(t, "GET", sim.ControlURL()+"/_sim/received?outcome=token-invalid", "", &recs)
	if st != 200 || len(recs) != 1 || recs[0].Token != "dead0001" {
		t.Errorf("received?outcome=token-invalid = %d %+v, want the dead token only", st, recs)
	}
	var all []Record
	getJSON(t, "GET", sim.ControlURL()+"/_sim/received?since="+itoa(recs[0].Seq-1), "", &all)
	if len(all) != 1 {
		t.Errorf("received?since = %d records, want 1", len(all))
	}
	if st := getJSON(t, "GET", sim.ControlURL()+"/_sim/received?since=x", "", nil); st != 400 {
		t.Errorf("received?since=x = %d, want 400", st)
	}

	var counters map[string]VendorCounters
	getJSON(t, "GET", sim.ControlURL()+"/_sim/counters", "", &counters)
	apns := counters[VendorAPNs]
	if apns.Requests != 2 || apns.Answers["200"] != 1 || apns.Answers["410 Unregistered"] != 1 ||
		apns.Connections != 1 || apns.PeakInFlight < 1 {
		t.Errorf("counters = %+v, want 2 requests (200, 410) on 1 connection", apns)
	}

	var eps map[string]string
	getJSON(t, "GET", sim.ControlURL()+"/_sim/endpoints", "", &eps)
	if eps["apns"] != sim.Endpoint("apns") || eps["control"] != sim.ControlURL() {
		t.Errorf("endpoints = %v", eps)
	}

	resp, err := http.Get(sim.ControlURL() + "/_sim/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	pemData, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(pemData, sim.CAPEM()) {
		t.Errorf("ca.pem differs from CAPEM")
	}

	if st := getJSON(t, "POST", sim.ControlURL()+"/_sim/reset", "", nil); st != http.StatusNoContent {
		t.Errorf("reset = %d, want 204", st)
	}
	if n := len(sim.Received(Filter{})); n != 0 {
		t.Errorf("records after reset = %d, want 0", n)
	}
	if n := sim.Counters()[VendorAPNs].Requests; n != 0 {
		t.Errorf("requests after reset = %d, want 0", n)
	}
}

func TestControlFaults(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	jwtStr := freshJWT(t, creds)

	var fs FaultSet
	body := `{"global":{"error_rate":1,"error_kind":"throttle",` +
		`"latency":{"kind":"fixed","p50":"1ms"}}}`
	if st := getJSON(t, "PUT", sim.ControlURL()+"/_sim/faults", body, &fs); st != 200 ||
		fs.Global.ErrorKind != ErrorKindThrottle || fs.Global.Latency.P50 != Duration(time.Millisecond) {
		t.Fatalf("PUT faults = %d %+v", st, fs)
	}
	got := mustSend(t, c, sim, defaultPush(creds, jwtStr))
	if got.status != 429 || got.reason != "TooManyRequests" || got.header.Get("Retry-After") != "1" {
		t.Errorf("push under error_rate 1 = %d %q, want 429 TooManyRequests", got.status, got.reason)
	}

	// A vendor entry replaces the global faults for that vendor.
	body = `{"global":{"error_rate":1},"vendors":{"apns":{"error_rate":0}}}`
	if st := getJSON(t, "PUT", sim.ControlURL()+"/_sim/faults", body, nil); st != 200 {
		t.Fatalf("PUT vendor faults = %d", st)
	}
	if got := mustSend(t, c, sim, defaultPush(creds, jwtStr)); got.status != 200 {
		t.Errorf("push with apns error_rate 0 = %d, want 200", got.status)
	}

	bad := []string{
		`{"global":{"error_rate":2}}`,
		`{"global":{"error_kind":"boom"}}`,
		`{"global":{"latency":{"kind":"lognormal"}}}`,
		`{"vendors":{"nokia":{}}}`,
		`{"global":{"bogus":1}}`,
	}
	for _, b := range bad {
		var e map[string]string
		st := getJSON(t, "PUT", sim.ControlURL()+"/_sim/faults", b, &e)
		if st != 400 || e["error"] == "" {
			t.Errorf("PUT faults %s = %d %v, want 400 with an error", b, st, e)
		}
	}
	var now FaultSet
	getJSON(t, "GET", sim.ControlURL()+"/_sim/faults", "", &now)
	if now.Vendors["apns"].ErrorRate != 0 || now.Global.ErrorRate != 1 {
		t.Errorf("faults after bad PUTs = %+v, want the last good set", now)
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
