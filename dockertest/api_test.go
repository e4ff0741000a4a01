package dockertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// apiClient speaks Herald's REST API and vendorsim's inspection API from
// the host, as an operator or an IM core would.
type apiClient struct {
	http    *http.Client
	simBase string
	token   string // app token of org1#app1, once setUpApp ran
}

func newAPIClient(simIP string) *apiClient {
	tr := &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second}
	return &apiClient{
		// A request to a frozen or cut-off node hangs until this
		// timeout; it is no acknowledgement.
		http:    &http.Client{Transport: tr, Timeout: 15 * time.Second},
		simBase: "http://" + simIP + ":" + strconv.Itoa(simCtlPort),
	}
}

// call sends a JSON request and decodes a JSON answer into out (when
// non-nil and the body is JSON). It returns the status, or an error when
// no HTTP answer came.
func (a *apiClient) call(method, url, token string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read answer: %w", err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %.200q: %w", raw, err)
		}
	}
	return resp.StatusCode, nil
}

// envelope is the part of Herald's REST envelope the tests read.
type envelope struct {
	Data     json.RawMessage  `json:"data"`
	Entities []map[string]any `json:"entities"`
	Error    string           `json:"error"`
	Desc     string           `json:"error_description"`
}

// clusterStatus is the part of GET /admin/cluster's data the tests read.
type clusterStatus struct {
	Self    string          `json:"self"`
	Epoch   uint64          `json:"epoch"`
	Stable  bool            `json:"stable"`
	Ring    []clusterMember `json:"ring"`
	Members []clusterMember `json:"members"`
}

type clusterMember struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	InRing bool   `json:"in_ring"`
	Health string `json:"health"`
}

// agreed reports whether st lists exactly names alive and as the ring.
func (st clusterStatus) agreed(names []string) bool {
	var alive, ring []string
	for _, m := range st.Members {
		if m.State == "alive" && m.InRing {
			alive = append(alive, m.Name)
		}
	}
	for _, m := range st.Ring {
		ring = append(ring, m.Name)
	}
	slices.Sort(alive)
	slices.Sort(ring)
	return slices.Equal(alive, names) && slices.Equal(ring, names)
}

// state is how st sees the member called name ("" when unknown).
func (st clusterStatus) state(name string) string {
	for _, m := range st.Members {
		if m.Name == name {
			return m.State
		}
	}
	return ""
}

func (st clusterStatus) String() string {
	var parts []string
	for _, m := range st.Members {
		parts = append(parts, fmt.Sprintf("%s=%s/ring:%v", m.Name, m.State, m.InRing))
	}
	return fmt.Sprintf("%s epoch %d stable %v members [%s]", st.Self, st.Epoch, st.Stable,
		strings.Join(parts, " "))
}

// cluster asks m for GET /admin/cluster.
func (a *apiClient) cluster(m *member) (clusterStatus, error) {
	var env envelope
	code, err := a.call("GET", m.base()+"/admin/cluster", bootstrapToken, nil, &env)
	if err != nil {
		return clusterStatus{}, err
	}
	if code != http.StatusOK {
		return clusterStatus{}, fmt.Errorf("status %d %s", code, env.Error)
	}
	var st clusterStatus
	if err := json.Unmarshal(env.Data, &st); err != nil {
		return clusterStatus{}, fmt.Errorf("decode cluster status: %w", err)
	}
	return st, nil
}

// ready reports whether m's /readyz answers 200.
func (a *apiClient) ready(m *member) bool {
	code, err := a.call("GET", m.base()+"/readyz", "", nil, nil)
	return err == nil && code == http.StatusOK
}

// setUpApp creates org1#app1 through m, takes an app token, lifts the
// per-node user rate limit (the tests write far above 100/s) and adds an
// APNs notifier pointing at vendorsim by its real host name.
func (a *apiClient) setUpApp(t *testing.T, m *member) {
	t.Helper()
	var created struct {
		Data struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		} `json:"data"`
	}
	code, err := a.call("POST", m.base()+"/management/orgs/org1/apps", bootstrapToken,
		map[string]any{"name": "app1"}, &created)
	if err != nil || code != http.StatusOK || created.Data.ClientID == "" {
		t.Fatalf("create app through %s: status %d, %v", m.name, code, err)
	}

	var tok struct {
		AccessToken string `json:"access_token"`
	}
	code, err = a.call("POST", appURL(m, "/token"), "", map[string]any{
		"grant_type": "client_credentials", "client_id": created.Data.ClientID,
		"client_secret": created.Data.ClientSecret,
	}, &tok)
	if err != nil || code != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("app token through %s: status %d, %v", m.name, code, err)
	}
	a.token = tok.AccessToken

	var env envelope
	code, err = a.call("PUT", appURL(m, "/push/config"), a.token, map[string]any{
		"rate_limits": map[string]any{"user": 1_000_000},
	}, &env)
	if err != nil || code != http.StatusOK {
		t.Fatalf("push config through %s: status %d %s, %v", m.name, code, env.Desc, err)
	}

	a.addNotifier(t, m)
}

// addNotifier adds the APNs notifier "apns-dev" with vendorsim's p8 key.
func (a *apiClient) addNotifier(t *testing.T, m *member) {
	t.Helper()
	var env envelope
	code, err := a.call("POST", appURL(m, "/push/notifiers"), a.token, map[string]any{
		"name": "apns-dev", "provider": "apns", "environment": "development",
		"endpoint": "https://" + apnsHost + ":" + strconv.Itoa(simAPNs),
		"credentials": map[string]any{
			"bundle_id": creds.APNs.BundleID, "auth_type": "p8",
			"key_id": creds.APNs.KeyID, "team_id": creds.APNs.TeamID,
			"private_key": string(creds.APNs.P8PEM),
		},
	}, &env)
	if err != nil || code != http.StatusOK {
		t.Fatalf("create notifier through %s: status %d %s, %v", m.name, code, env.Desc, err)
	}
}

func appURL(m *member, path string) string {
	return m.base() + "/org1/app1" + path
}

// binding is one device binding as the tests write and read it.
type binding struct {
	user, device, token string
}

// bind binds b through m; 200 is the acknowledgement.
func (a *apiClient) bind(m *member, b binding) (int, error) {
	var env envelope
	return a.call("PUT", appURL(m, "/users/"+b.user+"/push/binding"), a.token,
		map[string]any{"device_id": b.device, "device_token": b.token,
			"notifier_name": "apns-dev"}, &env)
}

// bindings reads user's bindings through m as device id -> token.
func (a *apiClient) bindings(m *member, user string) (map[string]string, int, error) {
	var env envelope
	code, err := a.call("GET", appURL(m, "/users/"+user+"/push/binding"), a.token, nil,
		&env)
	if err != nil {
		return nil, code, err
	}
	if code != http.StatusOK {
		return nil, code, fmt.Errorf("%s: %s", env.Error, env.Desc)
	}
	got := map[string]string{}
	for _, e := range env.Entities {
		dev, _ := e["device_id"].(string)
		tok, _ := e["device_token"].(string)
		got[dev] = tok
	}
	return got, code, nil
}

// push sends one chat message to user through m and returns how many
// bindings Herald reports pushed.
func (a *apiClient) push(m *member, msgID, user string) (int, int, error) {
	var env struct {
		Data struct {
			Pushed int `json:"pushed"`
		} `json:"data"`
	}
	code, err := a.call("POST", appURL(m, "/push/messages"), a.token, map[string]any{
		"msg_id": msgID, "from": "alice", "chat_type": "chat", "to": []string{user},
		"body": map[string]any{"type": "txt", "text": "hi"},
	}, &env)
	return env.Data.Pushed, code, err
}

// simReachable reports whether vendorsim's control API answers.
func (a *apiClient) simReachable() bool {
	code, err := a.call("GET", a.simBase+"/_sim/counters", "", nil, nil)
	return err == nil && code == http.StatusOK
}

// simRecord is the part of a vendorsim record the tests read.
type simRecord struct {
	Token   string         `json:"token"`
	Status  int            `json:"status"`
	Payload map[string]any `json:"payload"`
}

// received returns every APNs request vendorsim recorded.
func (a *apiClient) received() ([]simRecord, error) {
	var raw json.RawMessage
	code, err := a.call("GET", a.simBase+"/_sim/received?vendor=apns", "", nil, &raw)
	if err != nil || code != http.StatusOK {
		return nil, fmt.Errorf("vendorsim received: status %d, %v", code, err)
	}
	var recs []simRecord
	if json.Unmarshal(raw, &recs) == nil {
		return recs, nil
	}
	var wrapped struct {
		Records []simRecord `json:"records"`
	}
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return nil, fmt.Errorf("decode vendorsim records: %w", err)
	}
	return wrapped.Records, nil
}

// deviceToken is a distinct 64-hex-digit APNs token for a seed. It
// starts with a digit: vendorsim gives tokens starting with "dead" and
// other magic prefixes (VENDORS.md) scripted failures.
func deviceToken(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "0" + hex.EncodeToString(sum[:])[:63]
}
