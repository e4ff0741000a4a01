package bench

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"golang.org/x/net/http2"

	"github.com/herald-im/herald/vendorsim"
)

// BenchmarkFCM pushes b.N notifications to vendorsim's FCM emulator, with
// a bare net/http client doing the same OAuth and request and through a
// Herald node, and reports pushes/s and CPU seconds per 100k pushes.
func BenchmarkFCM(b *testing.B) {
	s := newStack(b, "bench-fcm")
	s.notifier(b, "fcm", nil)
	s.bind(b, "fcm", fcmDeviceToken)
	b.Run("bare-nethttp", func(b *testing.B) { bareFCM(b, s) })
	b.Run("herald", s.herald)
}

func fcmDeviceToken(i int) string { return fmt.Sprintf("bench%d:APA91b%058x", i, i+1) }

// bareFCM is the minimal client: one OAuth token from a signed JWT, then
// one messages:send per push over HTTP/2, the body shaped as Herald's.
func bareFCM(b *testing.B, e *stack) {
	var account struct {
		ProjectID   string `json:"project_id"`
		ClientEmail string `json:"client_email"`
		KeyID       string `json:"private_key_id"`
		PrivateKey  string `json:"private_key"`
	}
	if err := json.Unmarshal([]byte(e.creds.Vendors[vendorsim.VendorFCM]["service_account"]),
		&account); err != nil {
		b.Fatal(err)
	}
	block, _ := pem.Decode([]byte(account.PrivateKey))
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.sim.CAPEM())
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	base := e.sim.Endpoint(vendorsim.VendorFCM)
	access := bareFCMToken(b, client, base+"/token", account.ClientEmail, account.KeyID,
		parsed.(*rsa.PrivateKey))
	sendURL := base + "/v1/projects/" + account.ProjectID + "/messages:send"

	run(b, func(i int) error {
		body := fmt.Sprintf(`{"message":{"token":%q,"notification":{"title":"您有一条新消息",`+
			`"body":"请点击查看"},"data":{"f":"alice","m":"m%d","t":"bob"},"android":`+
			`{"priority":"HIGH","ttl":"86400s","notification":{"sound":"default",`+
			`"notification_count":1,"tag":"m%d"}}}}`, fcmDeviceToken(i%users), i, i)
		req, err := http.NewRequest("POST", sendURL, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+access)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("fcm answered %d %s", resp.StatusCode, answer)
		}
		return nil
	})
}

func bareFCMToken(b *testing.B, c *http.Client, tokenURL, email, kid string,
	key *rsa.PrivateKey) string {
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": email,
		"scope": "https://www.googleapis.com/auth/firebase.messaging", "aud": tokenURL,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	t.Header["kid"] = kid
	assertion, err := t.SignedString(key)
	if err != nil {
		b.Fatal(err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion": {assertion}}
	resp, err := c.Post(tokenURL, "application/x-www-form-urlencoded",
		bytes.NewReader([]byte(form.Encode())))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		b.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return out.AccessToken
}
