package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/stats"
)

// fakeBackend is a small in-memory Backend. The real one is the node's
// actors (built elsewhere, covered by end-to-end tests through the binary);
// this one keeps just enough state to exercise every REST path.
type fakeBackend struct {
	mu    sync.Mutex
	apps  map[string]*messages.AppRecord
	users map[string]*fakeUser
	// pushed records every accepted message.
	pushed []*messages.PushMessage
	// hold makes Push wait for ctx and report every recipient pending.
	hold bool
	// fail, when set, is returned as a Go error by every call.
	fail error
	// replyErr, when set, is carried in every grain reply.
	replyErr *messages.Error
	ready    string
	// requests counts grain requests, to prove rejected input never
	// reached the backend.
	requests int
}

type fakeUser struct {
	bindings []*messages.Binding
	states   map[string]messages.PresenceState
	badges   map[string]int64
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{apps: map[string]*messages.AppRecord{}, users: map[string]*fakeUser{}}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (f *fakeBackend) CreateApp(_ context.Context, org, name string) (*messages.AppReply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	key := org + "#" + name
	if f.apps[key] != nil {
		return &messages.AppReply{Error: messages.InvalidField("name")}, nil
	}
	secret := randomHex(16)
	sum := sha256.Sum256([]byte(secret))
	rec := &messages.AppRecord{Org: org, Name: name, Uuid: "uuid-" + randomHex(4),
		ClientId: "YXA6" + randomHex(8), ClientSecretHash: sum[:],
		TokenKey: []byte(randomHex(16)), Notifiers: map[string]*messages.Notifier{}}
	f.apps[key] = rec
	return &messages.AppReply{App: rec, ClientSecret: secret}, nil
}

func (f *fakeBackend) App(_ context.Context, appKey string) (*messages.AppRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	rec := f.apps[appKey]
	if rec == nil {
		return nil, ErrAppNotFound
	}
	return rec, nil
}

func (f *fakeBackend) AppRequest(_ context.Context, appKey string,
	req proto.Message) (proto.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.fail != nil {
		return nil, f.fail
	}
	rec := f.apps[appKey]
	switch m := req.(type) {
	case *messages.GetApp:
		if f.replyErr != nil {
			return &messages.AppReply{Error: f.replyErr}, nil
		}
		return &messages.AppReply{App: rec}, nil
	case *messages.PutNotifier:
		if f.replyErr != nil {
			return &messages.NotifierReply{Error: f.replyErr}, nil
		}
		n, e := f.putNotifier(rec, m)
		return &messages.NotifierReply{Notifier: n, Error: e}, nil
	case *messages.DeleteNotifier:
		n := rec.Notifiers[m.Name]
		if n == nil {
			return &messages.NotifierReply{Error: &messages.Error{Code: "not_found"}}, nil
		}
		delete(rec.Notifiers, m.Name)
		return &messages.NotifierReply{Notifier: n}, nil
	}
	return nil, fmt.Errorf("fake: unexpected app request %T", req)
}

func (f *fakeBackend) putNotifier(rec *messages.AppRecord,
	m *messages.PutNotifier) (*messages.Notifier, *messages.Error) {
	old := rec.Notifiers[m.Notifier.Name]
	n := proto.Clone(m.Notifier).(*messages.Notifier)
	switch {
	case m.Create && old != nil:
		return nil, messages.InvalidField("name")
	case !m.Create && old == nil:
		return nil, &messages.Error{Code: "not_found"}
	case !m.Create:
		if n.Provider != "" && n.Provider != old.Provider {
			return nil, messages.InvalidField("provider")
		}
		merged := proto.Clone(old).(*messages.Notifier)
		maps.Copy(merged.Credentials, n.Credentials)
		if m.HasEnabled {
			merged.Enabled = n.Enabled
		}
		if n.Environment != "" {
			merged.Environment = n.Environment
		}
		n = merged
	}
	if e := messages.ValidateNotifier(n, true); e != nil {
		return nil, e
	}
	rec.Notifiers[n.Name] = n
	return n, nil
}

func (f *fakeBackend) UserRequest(_ context.Context, appKey, user string,
	req proto.Message) (proto.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.fail != nil {
		return nil, f.fail
	}
	u := f.users[appKey+"/"+user]
	if u == nil {
		u = &fakeUser{states: map[string]messages.PresenceState{}, badges: map[string]int64{}}
		f.users[appKey+"/"+user] = u
	}
	switch m := req.(type) {
	case *messages.PutBinding:
		if f.replyErr != nil {
			return &messages.BindingsReply{Error: f.replyErr}, nil
		}
		u.putBinding(m)
		// The fake answers every binding of the user; the REST layer keeps
		// only the device's.
		return &messages.BindingsReply{Bindings: u.bindings}, nil
	case *messages.GetBindings:
		return &messages.BindingsReply{Bindings: u.bindings, Error: f.replyErr}, nil
	case *messages.PresenceEvent:
		u.states[m.DeviceId] = m.State
		if m.State == messages.PresenceState_PRESENCE_ONLINE {
			u.badges[m.DeviceId] = 0
		}
		return &messages.PresenceReply{DeviceId: m.DeviceId, State: m.State,
			OfflineMsgCount: u.badges[m.DeviceId], Error: f.replyErr}, nil
	case *messages.GetBadge:
		var n int64
		for d, c := range u.badges {
			if m.DeviceId == "" || m.DeviceId == d {
				n = max(n, c)
			}
		}
		return &messages.BadgeReply{Count: n, Error: f.replyErr}, nil
	}
	return nil, fmt.Errorf("fake: unexpected user request %T", req)
}

func (u *fakeUser) putBinding(m *messages.PutBinding) {
	kept := u.bindings[:0:0]
	for _, b := range u.bindings {
		same := b.DeviceId == m.DeviceId &&
			(m.NotifierName == "" || b.NotifierName == m.NotifierName)
		if !same {
			kept = append(kept, b)
		}
	}
	if m.DeviceToken != "" && m.NotifierName != "" {
		kept = append(kept, &messages.Binding{DeviceId: m.DeviceId,
			NotifierName: m.NotifierName, DeviceToken: m.DeviceToken})
	}
	u.bindings = kept
}

func (f *fakeBackend) Push(ctx context.Context,
	m *messages.PushMessage) (*messages.PushResult, error) {
	f.mu.Lock()
	f.requests++
	fail, hold, replyErr := f.fail, f.hold, f.replyErr
	f.pushed = append(f.pushed, m)
	f.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	n := int32(len(m.To))
	if m.ChatType == "groupchat" {
		n = int32(len(m.Members))
	}
	res := &messages.PushResult{MsgId: m.MsgId, Recipients: n, Pushed: n, Error: replyErr}
	if hold {
		<-ctx.Done()
		res.Pushed, res.Pending = 0, n
	}
	return res, nil
}

func (f *fakeBackend) Ready() string { return f.ready }

// Statistics records the query and answers a report in which every day
// of the range has successCount = its day of month and failCount = the
// UTC offset of loc on that day in hours, so tests see what was asked.
func (f *fakeBackend) Statistics(_ context.Context, appKey, begin, end, platform string,
	loc *time.Location) (stats.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.fail != nil {
		return nil, f.fail
	}
	rg, err := stats.ParseQuery(begin, end, platform, loc)
	if err != nil {
		return nil, err
	}
	rep := stats.Report{}
	for d := rg.First; !d.After(rg.Last); d = d.AddDate(0, 0, 1) {
		_, offset := d.Zone()
		byPlatform := map[string]stats.Counts{}
		for _, p := range rg.Platforms {
			byPlatform[p] = stats.Counts{SuccessCount: int64(d.Day()),
				FailCount: int64(offset / 3600)}
		}
		rep[d.Format(stats.DayLayout)] = byPlatform
	}
	return rep, nil
}

// harness drives a Server with a fake backend and a settable clock.
type harness struct {
	t   *testing.T
	be  *fakeBackend
	srv *Server
	now time.Time
}

const bootstrap = "boot-secret"

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, be: newFakeBackend(), now: time.UnixMilli(1700000000000)}
	h.srv = New(Options{
		Backend:        h.be,
		BootstrapToken: bootstrap,
		TokenTTL:       time.Hour,
		MaxTokenTTL:    24 * time.Hour,
		Logger:         slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Now:            func() time.Time { return h.now },
	})
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// reply is a decoded answer.
type result struct {
	status int
	body   map[string]any
	raw    string
}

// do sends one request; body is raw JSON text ("" for none).
func (h *harness) do(method, path, token, body string) result {
	h.t.Helper()
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	return h.send(method, path, auth, body)
}

// doHeader sends a request without body and with this Authorization.
func (h *harness) doHeader(method, path, auth string) result {
	h.t.Helper()
	return h.send(method, path, auth, "")
}

func (h *harness) send(method, path, auth, body string) result {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	res := result{status: rec.Code, raw: rec.Body.String()}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		h.t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	var v any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		h.t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, res.raw, err)
	}
	res.body, _ = v.(map[string]any)
	return res
}

// createApp creates org/app through the API and returns its credentials.
func (h *harness) createApp(org, app string) (id, secret string) {
	h.t.Helper()
	r := h.do("POST", "/management/orgs/"+org+"/apps", bootstrap, `{"name":"`+app+`"}`)
	if r.status != 200 {
		h.t.Fatalf("create app: %d %s", r.status, r.raw)
	}
	d := r.body["data"].(map[string]any)
	return d["client_id"].(string), d["client_secret"].(string)
}

// appToken creates org/app and returns an app token for it.
func (h *harness) appToken(org, app string) string {
	h.t.Helper()
	id, secret := h.createApp(org, app)
	r := h.do("POST", "/"+org+"/"+app+"/token", "", fmt.Sprintf(
		`{"grant_type":"client_credentials","client_id":%q,"client_secret":%q}`, id, secret))
	if r.status != 200 {
		h.t.Fatalf("app token: %d %s", r.status, r.raw)
	}
	return r.body["access_token"].(string)
}

// userToken returns a user token inherited from an app token.
func (h *harness) userToken(org, app, appTok, user string) string {
	h.t.Helper()
	r := h.do("POST", "/"+org+"/"+app+"/token", appTok,
		`{"grant_type":"inherit","username":"`+user+`"}`)
	if r.status != 200 {
		h.t.Fatalf("user token: %d %s", r.status, r.raw)
	}
	return r.body["access_token"].(string)
}

// wantError checks an error answer against the catalogue.
func wantError(t *testing.T, r result, status int, code, description string) {
	t.Helper()
	if r.status != status || r.body["error"] != code ||
		(description != "" && r.body["error_description"] != description) {
		t.Fatalf("answer %d %s, want %d %s %q", r.status, r.raw, status, code, description)
	}
	for _, k := range []string{"exception", "timestamp", "duration"} {
		if _, ok := r.body[k]; !ok {
			t.Errorf("error answer %s lacks %q", r.raw, k)
		}
	}
}

func wantInvalid(t *testing.T, r result, field string) {
	t.Helper()
	wantError(t, r, 400, "illegal_argument", "parameters is invalid : "+field)
}

var errBoom = errors.New("boom")
