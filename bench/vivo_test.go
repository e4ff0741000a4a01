package bench

import (
	"bytes"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/herald-im/herald/vendorsim"
)

// vivoEnv is the stack with a vivo notifier and its credentials.
type vivoEnv struct {
	*stack
	fields map[string]string // the vivo notifier's credentials
}

func setUpVivo(b *testing.B) *vivoEnv {
	s := newStack(b, "bench-vivo")
	s.notifier(b, "vivo", nil)
	s.bind(b, "vivo", vivoRegID)
	return &vivoEnv{stack: s, fields: s.creds.Vendors["vivo"]}
}

func vivoRegID(i int) string { return fmt.Sprintf("regid-%08d", i+1) }

// BenchmarkVivo pushes b.N notifications to vendorsim's vivo emulator,
// with a bare net/http client and through a Herald node, and reports
// pushes/s and CPU seconds per 100k pushes for each.
func BenchmarkVivo(b *testing.B) {
	e := setUpVivo(b)
	b.Run("bare-http", func(b *testing.B) { e.bare(b) })
	b.Run("herald", func(b *testing.B) { e.herald(b) })
}

// bare is the minimal vivo client: one auth call, then one JSON send per
// push over a shared HTTP/2 transport.
func (e *vivoEnv) bare(b *testing.B) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.sim.CAPEM())
	client := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
		TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16}}
	base := e.sim.Endpoint(vendorsim.VendorVivo)
	f := e.fields

	ts := time.Now().UnixMilli()
	sum := md5.Sum([]byte(f["app_id"] + f["app_key"] + strconv.FormatInt(ts, 10) +
		f["app_secret"]))
	var auth struct {
		Result    int    `json:"result"`
		AuthToken string `json:"authToken"`
	}
	if err := vivoPost(client, base+"/message/auth", "", map[string]any{"appId": f["app_id"],
		"appKey": f["app_key"], "timestamp": ts, "sign": hex.EncodeToString(sum[:])},
		&auth); err != nil || auth.Result != 0 {
		b.Fatalf("auth: %v %+v", err, auth)
	}

	run(b, func(i int) error {
		var ans struct {
			Result int    `json:"result"`
			Desc   string `json:"desc"`
		}
		err := vivoPost(client, base+"/message/send", auth.AuthToken, map[string]any{
			"appId": f["app_id"], "regId": vivoRegID(i % users), "notifyType": 4,
			"title": "您有一条新消息", "content": "请点击查看", "timeToLive": 86400,
			"skipType": 1, "classification": 1, "requestId": fmt.Sprint("bare-", i),
			"pushMode": 0, "clientCustomMap": map[string]string{"f": "alice", "t": "bob",
				"m": fmt.Sprint(i)},
		}, &ans)
		if err != nil {
			return err
		}
		if ans.Result != 0 {
			return fmt.Errorf("vivo answered %d %s", ans.Result, ans.Desc)
		}
		return nil
	})
}

func vivoPost(c *http.Client, url, authToken string, body, out any) error {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", url, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	if authToken != "" {
		req.Header.Set("authToken", authToken)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d %s", resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}
