package bench

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// oppoEnv is the stack with an OPPO notifier and its credentials.
type oppoEnv struct {
	*stack
	creds map[string]string // the oppo notifier's credentials
}

func oppoSetUp(b *testing.B) *oppoEnv {
	s := newStack(b, "bench-oppo")
	s.notifier(b, "oppo", nil)
	s.bind(b, "oppo", oppoRegID)
	return &oppoEnv{stack: s, creds: s.creds.Vendors["oppo"]}
}

func oppoRegID(i int) string { return fmt.Sprintf("OPPO_CN_%024x", i+1) }

// BenchmarkOPPO pushes b.N notifications to vendorsim's OPPO emulator with
// a bare net/http client and through a Herald node, and reports pushes/s
// and CPU seconds per 100k pushes for each.
func BenchmarkOPPO(b *testing.B) {
	e := oppoSetUp(b)
	b.Run("bare-http", func(b *testing.B) { e.bare(b) })
	b.Run("herald", func(b *testing.B) { e.herald(b) })
}

// bare is the minimal OPPO client: one signed auth, then a form POST per
// push with the same message Herald sends, over HTTP/2.
func (e *oppoEnv) bare(b *testing.B) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.sim.CAPEM())
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true, MaxIdleConnsPerHost: concurrency}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := e.sim.Endpoint("oppo")

	key, secret := e.creds["app_key"], e.creds["master_secret"]
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	sum := sha256.Sum256([]byte(key + ts + secret))
	var auth struct {
		Code int `json:"code"`
		Data struct {
			AuthToken string `json:"auth_token"`
		} `json:"data"`
	}
	if err := oppoPost(client, base+"/server/v1/auth", url.Values{"app_key": {key},
		"timestamp": {ts}, "sign": {hex.EncodeToString(sum[:])}}, "", &auth); err != nil ||
		auth.Code != 0 {
		b.Fatalf("oppo auth: %v %+v", err, auth)
	}

	send := base + "/server/v1/message/notification/unicast"
	run(b, func(i int) error {
		msg := `{"target_type":2,"target_value":"` + oppoRegID(i%users) + `",` +
			`"notification":{"title":"您有一条新消息","content":"请点击查看","style":1,` +
			`"click_action_type":0,"action_parameters":"{\"f\":\"alice\",\"t\":\"bob\",` +
			`\"m\":\"m` + strconv.Itoa(i) + `\"}","off_line":true,"off_line_ttl":86400}}`
		var ans struct {
			Code int `json:"code"`
		}
		err := oppoPost(client, send, url.Values{"auth_token": {auth.Data.AuthToken},
			"message": {msg}}, auth.Data.AuthToken, &ans)
		if err == nil && ans.Code != 0 {
			err = fmt.Errorf("oppo answered code %d", ans.Code)
		}
		return err
	})
}

func oppoPost(c *http.Client, u string, form url.Values, authToken string, out any) error {
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	if authToken != "" {
		req.Header.Set("auth_token", authToken)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	return json.Unmarshal(body, out)
}
