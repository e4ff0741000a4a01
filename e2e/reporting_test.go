package e2e

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// hookReceiver is the app's webhook endpoint: it records every delivery
// and refuses the first one of each event id with 500, to see a retry.
type hookReceiver struct {
	mu         sync.Mutex
	deliveries []hookDelivery
	refused    map[string]bool
}

type hookDelivery struct {
	eventID, signature string
	body               []byte
	event              map[string]any
	status             int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	d := hookDelivery{eventID: r.Header.Get("X-Herald-Event-Id"),
		signature: r.Header.Get("X-Herald-Signature"), body: body, status: 200}
	_ = json.Unmarshal(body, &d.event)

	h.mu.Lock()
	if !h.refused[d.eventID] {
		h.refused[d.eventID] = true
		d.status = 500
	}
	h.deliveries = append(h.deliveries, d)
	h.mu.Unlock()
	w.WriteHeader(d.status)
}

// accepted returns the deliveries answered 2xx, by msg_id and target.
func (h *hookReceiver) accepted() map[string]hookDelivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]hookDelivery{}
	for _, d := range h.deliveries {
		if d.status == 200 {
			out[fmt.Sprintf("%v/%v", d.event["msg_id"], d.event["target"])] = d
		}
	}
	return out
}

func (h *hookReceiver) attempts(eventID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, d := range h.deliveries {
		if d.eventID == eventID {
			n++
		}
	}
	return n
}

// TestWebhookAndStatistics checks the offline-push webhook (SPEC.md §12)
// and the statistics (§11.5) through the running node.
func TestWebhookAndStatistics(t *testing.T) {
	s := startSim(t)
	n := startNode(t, s, t.TempDir())
	q := setUp(t, s, n)

	recv := &hookReceiver{refused: map[string]bool{}}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	const secret = "hook-secret"
	var cfg envelope
	if code := httpJSON(t, "PUT", n.url("/push/config"), q.token, map[string]any{
		"webhook": map[string]any{"url": srv.URL, "secret": secret},
	}, &cfg); code != 200 {
		t.Fatalf("set webhook: status %d %+v", code, cfg)
	}

	// bob is bound and offline: pushed. carol has no binding.
	var res envelope
	httpJSON(t, "POST", n.url("/push/messages"), q.token, map[string]any{
		"msg_id": "w1", "from": "alice", "chat_type": "chat", "to": []string{"bob", "carol"},
		"body": map[string]any{"type": "txt", "text": "hi"},
	}, &res)
	if res.Data["pushed"] != float64(1) || res.Data["skipped"] != float64(1) {
		t.Fatalf("push answered %v, want bob pushed and carol skipped", res.Data)
	}

	var got map[string]hookDelivery
	waitFor(t, "both webhook events accepted after a retry", 20*time.Second, func() bool {
		got = recv.accepted()
		return len(got) == 2
	})

	success := got["w1/bob"]
	if success.event["status"] != "success" || success.event["detail"] != "" ||
		success.event["device_token"] != q.device || success.event["channel"] != "APNS" ||
		success.event["callId"] != "org1#app1_w1" || success.event["appkey"] != "org1#app1" ||
		success.event["step"] != "push" {
		t.Errorf("success event = %v", success.event)
	}
	if payload, _ := success.event["payload"].(map[string]any); payload["f"] != "alice" ||
		payload["t"] != "bob" || payload["m"] != "w1" || payload["badge"] != float64(1) {
		t.Errorf("success event payload = %v", success.event["payload"])
	}
	fail := got["w1/carol"]
	if fail.event["status"] != "fail" || fail.event["detail"] != "no push binding" ||
		fail.event["device_id"] != "" {
		t.Errorf("no-binding event = %v", fail.event)
	}

	for _, d := range []hookDelivery{success, fail} {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(d.body)
		if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); d.signature != want {
			t.Errorf("X-Herald-Signature = %q, want %q", d.signature, want)
		}
		sum := md5.Sum([]byte(fmt.Sprintf("%v%s%.0f", d.event["callId"], secret,
			d.event["timestamp"])))
		if d.event["security"] != hex.EncodeToString(sum[:]) {
			t.Errorf("security = %v, want MD5(callId+secret+timestamp)", d.event["security"])
		}
		if n := recv.attempts(d.eventID); n != 2 {
			t.Errorf("event %s delivered %d times, want 2 (refused once, same id)", d.eventID, n)
		}
	}

	// Statistics count the send outcome, not the recipient-level stop.
	day := time.Now().In(shanghai(t)).Format("2006-01-02")
	var st struct {
		Status string                                   `json:"status"`
		Data   map[string]map[string]map[string]float64 `json:"data"`
	}
	waitFor(t, "statistics to count the push", 10*time.Second, func() bool {
		code := httpJSON(t, "GET", n.url("/push/data/offline-push/begin/"+day+"/end/"+day),
			q.token, nil, &st)
		return code == 200 && st.Data[day]["APNS"]["successCount"] == 1
	})
	if st.Status != "OK" || st.Data[day]["APNS"]["failCount"] != 0 ||
		st.Data[day]["ANDROID"]["successCount"] != 0 {
		t.Fatalf("statistics = %+v", st)
	}
}

func shanghai(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
