package vendorsim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sideshow/apns2/certificate"
)

func TestAPNsValidTokenPush(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	jwtStr := freshJWT(t, creds)

	got := mustSend(t, c, sim, defaultPush(creds, jwtStr))
	if got.status != 200 || got.header.Get("apns-id") != testAPNsID {
		t.Fatalf("push = %d apns-id %q, want 200 %q", got.status, got.header.Get("apns-id"), testAPNsID)
	}

	r := waitOne(t, sim, Filter{Vendor: VendorAPNs, Token: goodToken})
	if r.Outcome != OutcomeDelivered || r.Status != 200 || r.Attempt != 1 {
		t.Errorf("record outcome/status/attempt = %s/%d/%d, want delivered/200/1",
			r.Outcome, r.Status, r.Attempt)
	}
	if r.Auth != (RecordAuth{Scheme: "bearer", Subject: creds.APNs.TeamID}) {
		t.Errorf("record auth = %+v, want bearer %s", r.Auth, creds.APNs.TeamID)
	}
	if r.App != creds.APNs.BundleID || r.Method != "POST" || r.Path != "/3/device/"+goodToken {
		t.Errorf("record app/method/path = %s %s %s", r.App, r.Method, r.Path)
	}
	if r.Headers["authorization"] != "bearer ***" || r.Headers["apns-topic"] != creds.APNs.BundleID {
		t.Errorf("record headers = %v, want masked authorization and apns-topic", r.Headers)
	}
	var payload map[string]any
	if err := json.Unmarshal(r.Payload, &payload); err != nil || payload["f"] != "alice" {
		t.Errorf("record payload = %s (%v), want the pushed JSON", r.Payload, err)
	}
	if r.Conn == 0 || r.ReceivedAt.IsZero() || r.AnsweredAt.Before(r.ReceivedAt) {
		t.Errorf("record conn/times = %d %v %v", r.Conn, r.ReceivedAt, r.AnsweredAt)
	}
}

func TestAPNsNewAPNsIDWhenNoneSent(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	p := defaultPush(creds, freshJWT(t, creds))
	p.headers["apns-id"] = ""

	got := mustSend(t, c, sim, p)
	id := got.header.Get("apns-id")
	if got.status != 200 || !isUUID(id) || id != strings.ToLower(id) {
		t.Fatalf("push = %d apns-id %q, want 200 and a lowercase UUID", got.status, id)
	}
}

func TestAPNsRefusals(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	key := p8Key(t, creds)
	now := time.Now()
	good := mintJWT(t, key, creds.APNs.KeyID, creds.APNs.TeamID, now)
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		edit    func(p *push)
		status  int
		reason  string
		outcome string
	}{
		{"no authorization", func(p *push) { p.headers["authorization"] = "" },
			403, "MissingProviderToken", OutcomeCredentialError},
		{"bad signature", func(p *push) {
			p.headers["authorization"] = "bearer " +
				mintJWT(t, otherKey, creds.APNs.KeyID, creds.APNs.TeamID, now)
		}, 403, "InvalidProviderToken", OutcomeCredentialError},
		{"unknown kid", func(p *push) {
			p.headers["authorization"] = "bearer " + mintJWT(t, key, "NOSUCHKEY1", creds.APNs.TeamID, now)
		}, 403, "InvalidProviderToken", OutcomeCredentialError},
		{"other team", func(p *push) {
			p.headers["authorization"] = "bearer " + mintJWT(t, key, creds.APNs.KeyID, "OTHERTEAM1", now)
		}, 403, "InvalidProviderToken", OutcomeCredentialError},
		{"not bearer", func(p *push) { p.headers["authorization"] = "basic " + good },
			403, "InvalidProviderToken", OutcomeCredentialError},
		{"missing topic", func(p *push) { p.headers["apns-topic"] = "" },
			400, "MissingTopic", OutcomeCredentialError},
		{"foreign topic", func(p *push) { p.headers["apns-topic"] = "com.other.app" },
			400, "TopicDisallowed", OutcomeCredentialError},
		{"unknown push type", func(p *push) { p.headers["apns-push-type"] = "shout" },
			400, "InvalidPushType", OutcomePayloadError},
		{"voip type on app topic", func(p *push) { p.headers["apns-push-type"] = "voip" },
			400, "InvalidPushType", OutcomePayloadError},
		{"long collapse id", func(p *push) { p.headers["apns-collapse-id"] = strings.Repeat("c", 65) },
			400, "BadCollapseId", OutcomePayloadError},
		{"priority 7", func(p *push) { p.headers["apns-priority"] = "7" },
			400, "BadPriority", OutcomePayloadError},
		{"background at 10", func(p *push) { p.headers["apns-push-type"] = "background" },
			400, "BadPriority", OutcomePayloadError},
		{"bad expiration", func(p *push) { p.headers["apns-expiration"] = "soon" },
			400, "BadExpirationDate", OutcomePayloadError},
		{"bad apns-id", func(p *push) { p.headers["apns-id"] = "not-a-uuid" },
			400, "BadMessageId", OutcomePayloadError},
		{"payload over 4096", func(p *push) { p.body = bigPayload(4097) },
			413, "PayloadTooLarge", OutcomePayloadError},
		{"empty body", func(p *push) { p.body = "" }, 400, "PayloadEmpty", OutcomePayloadError},
		{"no aps", func(p *push) { p.body = `{"f":"alice"}` }, 400, "PayloadEmpty", OutcomePayloadError},
		{"not json", func(p *push) { p.body = `aps` }, 400, "BadPayload", OutcomePayloadError},
		{"token not hex", func(p *push) { p.token = "zz" + goodToken[2:] },
			400, "BadDeviceToken", OutcomeTokenInvalid},
		{"empty token", func(p *push) { p.token = "" }, 400, "MissingDeviceToken", OutcomeTokenInvalid},
		{"GET", func(p *push) { p.method = "GET" }, 405, "MethodNotAllowed", OutcomePayloadError},
		{"bad path", func(p *push) { p.path = "/3/devices/" + goodToken },
			404, "BadPath", OutcomePayloadError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			since := lastSeq(sim)
			p := defaultPush(creds, good)
			tt.edit(&p)

			got := mustSend(t, c, sim, p)
			if got.status != tt.status || got.reason != tt.reason {
				t.Fatalf("push = %d %q, want %d %q", got.status, got.reason, tt.status, tt.reason)
			}
			r := waitOne(t, sim, Filter{Since: since})
			if r.Outcome != tt.outcome || r.VendorCode != tt.reason {
				t.Errorf("record = %s %s, want %s %s", r.Outcome, r.VendorCode, tt.outcome, tt.reason)
			}
		})
	}
}

func TestAPNsVoIPLimits(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	p := defaultPush(creds, freshJWT(t, creds))
	p.headers["apns-push-type"] = "voip"
	p.headers["apns-topic"] = creds.APNs.BundleID + ".voip"

	p.body = bigPayload(5120)
	if got := mustSend(t, c, sim, p); got.status != 200 {
		t.Errorf("voip push of 5120 bytes = %d %q, want 200", got.status, got.reason)
	}
	p.body = bigPayload(5121)
	if got := mustSend(t, c, sim, p); got.status != 413 || got.reason != "PayloadTooLarge" {
		t.Errorf("voip push of 5121 bytes = %d %q, want 413 PayloadTooLarge", got.status, got.reason)
	}
}

func TestAPNsExpiredTokenKillsConnection(t *testing.T) {
	sim, creds := startSim(t)
	// Hold back the GOAWAY that follows, so the dead connection is
	// still the one the client uses (TestAPNsConnExpiredTokenGoAway
	// checks the GOAWAY).
	apnsSrv(sim).expiredGoAway.Store(int64(time.Hour))
	c := h2Client(t, sim)
	key := p8Key(t, creds)

	p := defaultPush(creds, mintJWT(t, key, creds.APNs.KeyID, creds.APNs.TeamID,
		time.Now().Add(-61*time.Minute)))
	got := mustSend(t, c, sim, p)
	if got.status != 403 || got.reason != "ExpiredProviderToken" {
		t.Fatalf("push with old iat = %d %q, want 403 ExpiredProviderToken", got.status, got.reason)
	}

	// A fresh token on the same connection is refused too.
	p = defaultPush(creds, mintJWT(t, key, creds.APNs.KeyID, creds.APNs.TeamID, time.Now()))
	got = mustSend(t, c, sim, p)
	if got.status != 403 || got.reason != "ExpiredProviderToken" {
		t.Fatalf("fresh token on dead connection = %d %q, want 403 ExpiredProviderToken",
			got.status, got.reason)
	}

	// A new connection accepts it.
	if got := mustSend(t, h2Client(t, sim), sim, p); got.status != 200 {
		t.Fatalf("fresh token on new connection = %d %q, want 200", got.status, got.reason)
	}
}

func TestAPNsTokenChangeOnConnectionThrottled(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	key := p8Key(t, creds)
	now := time.Now()

	older := mintJWT(t, key, creds.APNs.KeyID, creds.APNs.TeamID, now.Add(-time.Minute))
	first := defaultPush(creds, older)
	if got := mustSend(t, c, sim, first); got.status != 200 {
		t.Fatalf("first token = %d %q, want 200", got.status, got.reason)
	}
	second := defaultPush(creds, mintJWT(t, key, creds.APNs.KeyID, creds.APNs.TeamID, now))
	got := mustSend(t, c, sim, second)
	if got.status != 429 || got.reason != "TooManyProviderTokenUpdates" {
		t.Fatalf("second token = %d %q, want 429 TooManyProviderTokenUpdates", got.status, got.reason)
	}
}

func TestAPNsClientCertificatePush(t *testing.T) {
	sim, creds := startSim(t)
	p12, err := base64.StdEncoding.DecodeString(creds.APNs.P12Base64)
	if err != nil {
		t.Fatalf("decode p12 base64: %v", err)
	}
	cert, err := certificate.FromP12Bytes(p12, creds.APNs.P12Password)
	if err != nil {
		t.Fatalf("FromP12Bytes: %v", err)
	}
	c := h2Client(t, sim, cert)

	p := defaultPush(creds, "")
	p.headers["authorization"] = ""
	if got := mustSend(t, c, sim, p); got.status != 200 {
		t.Fatalf("cert push = %d %q, want 200", got.status, got.reason)
	}
	r := waitOne(t, sim, Filter{Outcome: OutcomeDelivered})
	if r.Auth != (RecordAuth{Scheme: "cert", Subject: creds.APNs.BundleID}) {
		t.Errorf("record auth = %+v, want cert %s", r.Auth, creds.APNs.BundleID)
	}

	p.headers["apns-topic"] = "com.other.app"
	if got := mustSend(t, c, sim, p); got.status != 400 || got.reason != "TopicDisallowed" {
		t.Errorf("cert push to other topic = %d %q, want 400 TopicDisallowed", got.status, got.reason)
	}
}

func TestAPNsMagicTokens(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	jwtStr := freshJWT(t, creds)
	withToken := func(tok string) push {
		p := defaultPush(creds, jwtStr)
		p.token = tok
		return p
	}

	tests := []struct {
		token      string
		status     int
		reason     string
		outcome    string
		retryAfter string
	}{
		{"dead0001", 410, "Unregistered", OutcomeTokenInvalid, ""},
		{"baddev01", 400, "BadDeviceToken", OutcomeTokenInvalid, ""},
		{"fail0001", 500, "InternalServerError", OutcomeRetryable, ""},
		{"throttle01", 429, "TooManyRequests", OutcomeThrottled, "1"},
		{"flaky001", 503, "ServiceUnavailable", OutcomeRetryable, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			got := mustSend(t, c, sim, withToken(tt.token))
			if got.status != tt.status || got.reason != tt.reason {
				t.Fatalf("push = %d %q, want %d %q", got.status, got.reason, tt.status, tt.reason)
			}
			if ra := got.header.Get("Retry-After"); ra != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", ra, tt.retryAfter)
			}
			if tt.status == 410 && (got.timestamp == 0 || got.timestamp > time.Now().UnixMilli()) {
				t.Errorf("410 timestamp = %d, want a past time in ms", got.timestamp)
			}
			r := waitOne(t, sim, Filter{Token: tt.token})
			if r.Outcome != tt.outcome {
				t.Errorf("record outcome = %s, want %s", r.Outcome, tt.outcome)
			}
		})
	}

	// flaky fails once per token and payload, then succeeds.
	if got := mustSend(t, c, sim, withToken("flaky001")); got.status != 200 {
		t.Errorf("flaky second attempt = %d %q, want 200", got.status, got.reason)
	}
	recs := sim.Received(Filter{Token: "flaky001"})
	if len(recs) != 2 || recs[1].Attempt != 2 || recs[1].Outcome != OutcomeDelivered {
		t.Errorf("flaky records = %+v, want 2 with the second delivered", recs)
	}

	// After Reset, flaky fails once again.
	sim.Reset()
	if got := mustSend(t, c, sim, withToken("flaky001")); got.status != 503 {
		t.Errorf("flaky after reset = %d, want 503", got.status)
	}
}

func TestAPNsMagicRefuseThenSucceeds(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	p := defaultPush(creds, freshJWT(t, creds))
	p.token = "refuse01"

	// The stream is refused with REFUSED_STREAM, which x/net's transport
	// resends by itself since the body can be rewound.
	if got := mustSend(t, c, sim, p); got.status != 200 {
		t.Fatalf("refuse push = %d %q, want 200 after the transport's resend", got.status, got.reason)
	}
	if n := sim.Counters()[VendorAPNs].RefusedStreams; n != 1 {
		t.Errorf("refused streams = %d, want 1", n)
	}
	recs := sim.Received(Filter{Token: "refuse01"})
	if len(recs) != 2 || recs[0].VendorCode != codeRefusedStream || recs[0].Attempt != 1 ||
		recs[1].Outcome != OutcomeDelivered || recs[1].Attempt != 2 {
		t.Fatalf("records = %+v, want a refused first attempt and a delivered second", recs)
	}
	if recs[0].Stream == 0 || recs[1].Stream <= recs[0].Stream {
		t.Errorf("record streams = %d, %d, want real, increasing stream ids",
			recs[0].Stream, recs[1].Stream)
	}
}

func TestAPNsMagicHangUntilClientGivesUp(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	p := defaultPush(creds, freshJWT(t, creds))
	p.token = "hang0001"

	// Give up once the simulator shows the stream in flight.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer cancel()
		deadline := time.Now().Add(10 * time.Second)
		for sim.Counters()[VendorAPNs].InFlight == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}()
	_, err := send(t, ctx, c, sim, p)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("hang push error = %v, want context.Canceled", err)
	}
	r := waitOne(t, sim, Filter{Token: "hang0001"})
	if r.Status != 0 || r.Outcome != OutcomeRetryable {
		t.Errorf("hang record = %d %s, want 0 retryable", r.Status, r.Outcome)
	}
}

func TestAPNsMagicSlowSucceeds(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	p := defaultPush(creds, freshJWT(t, creds))
	p.token = "slow0001"
	if got := mustSend(t, c, sim, p); got.status != 200 {
		t.Fatalf("slow push = %d %q, want 200", got.status, got.reason)
	}
}

// bigPayload returns a valid APNs body of exactly n bytes.
func bigPayload(n int) string {
	const head, tail = `{"aps":{},"x":"`, `"}`
	return head + strings.Repeat("a", n-len(head)-len(tail)) + tail
}

// lastSeq returns the sequence number of the newest record, 0 if none.
func lastSeq(sim *Sim) uint64 {
	recs := sim.Received(Filter{})
	if len(recs) == 0 {
		return 0
	}
	return recs[len(recs)-1].Seq
}

func TestCloseAbandonsHangingPush(t *testing.T) {
	sim, creds := startSim(t)
	c := h2Client(t, sim)
	p := defaultPush(creds, freshJWT(t, creds))
	p.token = "hang0002"
	req, err := http.NewRequest("POST", sim.Endpoint(VendorAPNs)+"/3/device/"+p.token,
		strings.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range p.headers {
		req.Header.Set(k, v)
	}

	errc := make(chan error, 1)
	go func() {
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for sim.Counters()[VendorAPNs].InFlight == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}

	sim.Close()
	if err := <-errc; err == nil {
		t.Fatal("hanging push got an answer after Close, want a reset stream")
	}
}
