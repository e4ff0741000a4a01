package bench

import (
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func meizuPushID(i int) string { return fmt.Sprintf("mz-bench-%012x", i+1) }

// BenchmarkMeizu pushes b.N notifications to vendorsim's Meizu emulator
// with a bare net/http client and through a Herald node, and reports
// pushes/s and CPU seconds per 100k pushes for each.
func BenchmarkMeizu(b *testing.B) {
	s := newStack(b, "bench-meizu")
	s.notifier(b, "meizu", nil)
	s.bind(b, "meizu", meizuPushID)
	b.Run("bare-http", func(b *testing.B) { bareMeizu(b, s) })
	b.Run("herald", s.herald)
}

// bareMeizu is the minimal Meizu client: one form POST per push, signed
// with the MD5 of the sorted parameters and the app secret, carrying the
// message Herald sends for the benchmark's push.
func bareMeizu(b *testing.B, s *stack) {
	creds := s.creds.Vendors["meizu"]
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.sim.CAPEM())
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool},
		MaxIdleConnsPerHost: 16, MaxConnsPerHost: 16}}
	sendURL := s.sim.Endpoint("meizu") + "/garcia/api/server/push/varnished/pushByPushId"

	run(b, func(i int) error {
		message, _ := json.Marshal(map[string]any{
			"noticeBarInfo": map[string]any{"noticeBarType": 0, "title": "您有一条新消息",
				"content": "请点击查看", "noticeMsgType": 0},
			"clickTypeInfo": map[string]any{"clickType": 0, "parameters": map[string]string{
				"f": "alice", "t": "bob", "m": fmt.Sprint(i)}},
			"pushTimeInfo": map[string]any{"offLine": 1, "validTime": 24},
			"advanceInfo": map[string]any{"notificationType": map[string]int{
				"vibrate": 1, "lights": 1, "sound": 1}},
		})
		pushID := meizuPushID(i % users)
		// The sign covers the parameters sorted by key, then the secret.
		signed := "appId=" + creds["app_id"] + "messageJson=" + string(message) +
			"pushIds=" + pushID + creds["app_secret"]
		sum := md5.Sum([]byte(signed))
		form := url.Values{"appId": {creds["app_id"]}, "pushIds": {pushID},
			"messageJson": {string(message)}, "sign": {hex.EncodeToString(sum[:])}}

		req, err := http.NewRequest("POST", sendURL, strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var ans struct {
			Code  string              `json:"code"`
			Value map[string][]string `json:"value"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(raw, &ans) != nil || ans.Code != "200" ||
			len(ans.Value) > 0 {
			return fmt.Errorf("meizu answered %d %s", resp.StatusCode, raw)
		}
		return nil
	})
}
