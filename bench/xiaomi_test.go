package bench

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func xiaomiRegID(i int) string { return fmt.Sprintf("xm-bench-regid-%016x", i+1) }

// BenchmarkXiaomi pushes b.N notifications to vendorsim's MiPush emulator
// with a bare net/http client and through a Herald node, and reports
// pushes/s and CPU seconds per 100k pushes for each.
func BenchmarkXiaomi(b *testing.B) {
	s := newStack(b, "bench-xiaomi")
	s.notifier(b, "xiaomi", nil)
	s.bind(b, "xiaomi", xiaomiRegID)
	b.Run("bare-http", func(b *testing.B) { bareXiaomi(b, s) })
	b.Run("herald", s.herald)
}

// bareXiaomi is the minimal MiPush client: the app secret as the
// Authorization key and one form POST per push with the fields Herald
// sends for the benchmark's message, h2 when offered.
func bareXiaomi(b *testing.B, s *stack) {
	creds := s.creds.Vendors["xiaomi"]
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.sim.CAPEM())
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool},
		MaxIdleConnsPerHost: 16, MaxConnsPerHost: 16}}
	sendURL := s.sim.Endpoint("xiaomi") + "/v3/message/regid"

	run(b, func(i int) error {
		msgID := fmt.Sprint(i)
		notify := fnv.New32a()
		notify.Write([]byte(msgID))
		form := url.Values{
			"registration_id":         {xiaomiRegID(i % users)},
			"restricted_package_name": {creds["package_name"]},
			"title":                   {"您有一条新消息"},
			"description":             {"请点击查看"},
			"payload":                 {`{"f":"alice","t":"bob","m":"` + msgID + `"}`},
			"pass_through":            {"0"},
			"notify_type":             {"-1"},
			"notify_id":               {strconv.Itoa(int(notify.Sum32() & 0x7fffffff))},
			"time_to_live":            {"86400000"},
			"extra.channel_id":        {creds["channel_id"]},
			"extra.notify_effect":     {"1"},
		}
		req, err := http.NewRequest("POST", sendURL, strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
		req.Header.Set("Authorization", "key="+creds["app_secret"])
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var ans struct {
			Result string `json:"result"`
			Code   int    `json:"code"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(raw, &ans) != nil || ans.Code != 0 {
			return fmt.Errorf("xiaomi answered %d %s", resp.StatusCode, raw)
		}
		return nil
	})
}
