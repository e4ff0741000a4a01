package vendorsim

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// More APNs reasons; the auth ones are in apns_auth.go.
const (
	reasonBadPath             = "BadPath"
	reasonMethodNotAllowed    = "MethodNotAllowed"
	reasonBadDeviceToken      = "BadDeviceToken"
	reasonMissingDeviceToken  = "MissingDeviceToken"
	reasonUnregistered        = "Unregistered"
	reasonBadCollapseID       = "BadCollapseId"
	reasonBadPriority         = "BadPriority"
	reasonBadExpirationDate   = "BadExpirationDate"
	reasonBadMessageID        = "BadMessageId"
	reasonInvalidPushType     = "InvalidPushType"
	reasonPayloadEmpty        = "PayloadEmpty"
	reasonPayloadTooLarge     = "PayloadTooLarge"
	reasonTooManyRequests     = "TooManyRequests"
	reasonInternalServerError = "InternalServerError"
	reasonServiceUnavailable  = "ServiceUnavailable"

	// reasonBadPayload is the emulator's own: Apple documents no reason
	// for a body that is not a JSON object with "aps". Treat as
	// payload-error like every other 400.
	reasonBadPayload = "BadPayload"

	// Pseudo codes of answers that are not HTTP responses.
	codeRefusedStream = "REFUSED_STREAM"
	codeHang          = "NO_ANSWER"
)

const (
	apnsMaxPayload     = 4096
	apnsMaxVoIPPayload = 5120
	apnsMaxCollapseID  = 64
	apnsDevicePath     = "/3/device/"
)

// VendorAPNs is the APNs emulator's name, as in records, endpoints and
// fault sets.
const VendorAPNs = "apns"

// init registers the APNs emulator: HTTP/2 only, Config.MaxStreams,
// token (p8) and certificate (p12) auth.
func init() {
	RegisterVendor(VendorSpec{
		Name: VendorAPNs,
		Hosts: []string{"api.push.apple.com", "api.sandbox.push.apple.com",
			"api.development.push.apple.com"},
		LoadCreds: loadAPNsCreds,
		NewHandler: func(env *VendorEnv, creds any) (http.Handler, error) {
			return newAPNsServer(env, creds.(*apnsCreds)), nil
		},
		TLS:      apnsTLS,
		GenCreds: genAPNsCreds,
	})
}

// apnsTLS asks for a client certificate when the file names a client CA;
// the handshake checks its chain.
func apnsTLS(creds any, conf *tls.Config) {
	c := creds.(*apnsCreds)
	if c.hasCAs {
		conf.ClientAuth = tls.VerifyClientCertIfGiven
		conf.ClientCAs = c.clientCAs
	}
}

// apnsPushTypes are the apns-push-type values Apple accepts.
var apnsPushTypes = map[string]bool{
	"alert": true, "background": true, "voip": true, "complication": true,
	"fileprovider": true, "mdm": true, "location": true, "liveactivity": true,
	"pushtotalk": true, "widgets": true, "controls": true,
}

// apnsServer answers POST /3/device/<token> as APNs does.
type apnsServer struct {
	env   *VendorEnv
	creds *apnsCreds
	jwts  *jwtCache

	// expiredGoAway is how long (ns) after a 403 ExpiredProviderToken
	// the connection gets GOAWAY; tests lengthen it.
	expiredGoAway atomic.Int64
}

func newAPNsServer(env *VendorEnv, creds *apnsCreds) *apnsServer {
	as := &apnsServer{env: env, creds: creds, jwts: newJWTCache(creds)}
	as.expiredGoAway.Store(int64(expiredGoAwayDelay))
	return as
}

// apnsMagic are APNs's answers to the magic tokens; dead's timestamp is
// set when it is answered.
var apnsMagic = MagicAnswers[apnsAnswer]{
	Dead:     apnsAnswer{status: 410, reason: reasonUnregistered},
	BadDev:   apnsAnswer{status: 400, reason: reasonBadDeviceToken},
	Throttle: apnsAnswer{status: 429, reason: reasonTooManyRequests, retryAfter: true},
	Fail:     apnsAnswer{status: 500, reason: reasonInternalServerError},
	Flaky:    apnsAnswer{status: 503, reason: reasonServiceUnavailable, retryAfter: true},
	Refuse:   true,
}

// apnsAnswer is what the emulator decided to answer.
type apnsAnswer struct {
	status     int
	reason     string
	delay      time.Duration // before answering (slow, latency faults)
	retryAfter bool          // add Retry-After: 1
	timestamp  time.Time     // 410 only
	hang       bool          // never answer
	refuse     bool          // reset the stream
}

func (a apnsAnswer) code() string {
	switch {
	case a.hang:
		return codeHang
	case a.refuse:
		return codeRefusedStream
	}
	return a.reason
}

// ServeHTTP is the net/http path, used when apns_realism is off; the
// realism path (apns_conn.go) shares prepare and answerParts.
func (as *apnsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := connFrom(r.Context())
	x := as.env.Begin(r)
	// TODO: Record.Stream stays 0 on this path: net/http hides the HTTP/2
	// stream id. The realism loop (the default) fills it.

	// Read one byte past the largest allowed body to tell "too large".
	body, err := io.ReadAll(io.LimitReader(r.Body, apnsMaxVoIPPayload+1))
	if err != nil {
		as.env.Log().Debug("apns read body failed", "conn", c.id, "err", err)
		x.Abandon()
		panic(http.ErrAbortHandler)
	}
	ans := as.prepare(r, c, body, x)
	x.Finish(ans.status, ans.code(), apnsOutcome(ans))
	if ans.refuse {
		as.env.Count(func(vc *VendorCounters) { vc.RefusedStreams++ })
	}
	if ans.hang || ans.refuse {
		// net/http resets with INTERNAL_ERROR, not REFUSED_STREAM; the
		// realism loop sends the exact code.
		panic(http.ErrAbortHandler)
	}

	header, reply := as.answerParts(r, ans)
	for k, vs := range header {
		w.Header()[k] = vs
	}
	w.WriteHeader(ans.status)
	_, _ = w.Write(reply)
}

// prepare decides the answer to one push and waits it out: the delay of
// slow tokens and latency faults, or until the client gives up for hang
// tokens (the answer is then a hang).
func (as *apnsServer) prepare(r *http.Request, c *conn, body []byte, x *Exchange) apnsAnswer {
	x.Record.Payload = RecordPayload(body)
	ans := as.decide(r, c, body, x)
	if !x.Delay(r.Context(), ans.delay) {
		ans = apnsAnswer{hang: true}
	}
	if ans.hang {
		x.Hang(r.Context())
	}
	return ans
}

// decide checks the request in APNs order: path and method, credentials,
// topic, injected faults, magic tokens, then headers, payload and token.
func (as *apnsServer) decide(r *http.Request, c *conn, body []byte, x *Exchange) apnsAnswer {
	if !strings.HasPrefix(r.URL.Path, apnsDevicePath) {
		return apnsAnswer{status: http.StatusNotFound, reason: reasonBadPath}
	}
	if r.Method != http.MethodPost {
		return apnsAnswer{status: http.StatusMethodNotAllowed, reason: reasonMethodNotAllowed}
	}
	rec := &x.Record
	token := strings.TrimPrefix(r.URL.Path, apnsDevicePath)
	rec.Token = token
	rec.Attempt = as.env.Attempts().Next(token, body)

	auth, refusal := as.authenticate(r, c)
	rec.Auth = RecordAuth{Scheme: auth.scheme, Subject: auth.subject}
	if refusal.status != 0 {
		return refusal
	}
	topic, refusal := as.checkTopic(r, auth)
	rec.App = topic
	if refusal.status != 0 {
		return refusal
	}

	switch x.Fault.ErrorKind {
	case ErrorKindTransient:
		return apnsAnswer{status: 503, reason: reasonServiceUnavailable, retryAfter: true}
	case ErrorKindThrottle:
		return apnsAnswer{status: 429, reason: reasonTooManyRequests, retryAfter: true}
	}

	m := apnsMagic.Match(token, rec.Attempt)
	switch {
	case m.Scripted:
		if m.Answer.status == http.StatusGone {
			m.Answer.timestamp = as.env.Now()
		}
		return m.Answer
	case m.Hang:
		return apnsAnswer{hang: true}
	case m.Refuse:
		return apnsAnswer{refuse: true}
	}

	// A magic token that ends in success is not hex; skip that check.
	ans := as.checkRequest(r, token, topic, body, m.Prefix == "")
	ans.delay = m.Delay
	return ans
}

// authenticate accepts a provider token (authorization: bearer) or, with
// no authorization header, a verified client certificate.
func (as *apnsServer) authenticate(r *http.Request, c *conn) (apnsAuth, apnsAnswer) {
	forbidden := func(reason string) apnsAnswer {
		return apnsAnswer{status: http.StatusForbidden, reason: reason}
	}
	if connExpired(c) {
		return apnsAuth{}, forbidden(reasonExpiredProviderToken)
	}

	if h := r.Header.Get("Authorization"); h != "" {
		rules := jwtRulesOf(as.env.Faults())
		auth, reason := as.jwts.authenticateJWT(c, h, as.env.Now(), rules)
		switch reason {
		case "":
			return auth, apnsAnswer{}
		case reasonTooManyProviderTokenUpdates:
			return auth, apnsAnswer{status: http.StatusTooManyRequests, reason: reason}
		}
		return auth, forbidden(reason)
	}

	// The TLS handshake already checked the chain to the client CA.
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		uid := certUID(r.TLS.PeerCertificates[0])
		auth := apnsAuth{scheme: "cert", subject: uid}
		if uid == "" {
			return auth, forbidden(reasonBadCertificate)
		}
		return auth, apnsAnswer{}
	}
	return apnsAuth{}, forbidden(reasonMissingProviderToken)
}

// checkTopic returns the push's topic: apns-topic, which a token push must
// send and which must be a bundle id of the team (or its ".voip" form). A
// certificate push may omit it and then uses the certificate's UID.
func (as *apnsServer) checkTopic(r *http.Request, auth apnsAuth) (string, apnsAnswer) {
	topic := r.Header.Get("apns-topic")
	if topic == "" {
		if auth.scheme == "cert" {
			return auth.subject, apnsAnswer{}
		}
		return "", apnsAnswer{status: 400, reason: reasonMissingTopic}
	}

	bundle := strings.TrimSuffix(topic, ".voip")
	allowed := false
	switch auth.scheme {
	case "bearer":
		allowed = auth.team.bundles[bundle]
	case "cert":
		allowed = bundle == auth.subject
	}
	if !allowed {
		return topic, apnsAnswer{status: 400, reason: reasonTopicDisallowed}
	}
	return topic, apnsAnswer{}
}

// checkRequest validates headers, payload and device token of a push that
// passed authentication; all good is 200. checkToken false skips the
// device token format.
func (as *apnsServer) checkRequest(r *http.Request, token, topic string, body []byte,
	checkToken bool,
) apnsAnswer {
	bad := func(reason string) apnsAnswer { return apnsAnswer{status: 400, reason: reason} }
	h := r.Header

	pushType := h.Get("apns-push-type")
	if pushType == "" {
		pushType = "alert"
	}
	if !apnsPushTypes[pushType] || (pushType == "voip") != strings.HasSuffix(topic, ".voip") {
		return bad(reasonInvalidPushType)
	}
	if p := h.Get("apns-priority"); p != "" {
		if (p != "1" && p != "5" && p != "10") || (pushType == "background" && p == "10") {
			return bad(reasonBadPriority)
		}
	}
	if e := h.Get("apns-expiration"); e != "" {
		if _, err := strconv.ParseInt(e, 10, 64); err != nil {
			return bad(reasonBadExpirationDate)
		}
	}
	if len(h.Get("apns-collapse-id")) > apnsMaxCollapseID {
		return bad(reasonBadCollapseID)
	}
	if id := h.Get("apns-id"); id != "" && !isUUID(id) {
		return bad(reasonBadMessageID)
	}

	limit := apnsMaxPayload
	if pushType == "voip" {
		limit = apnsMaxVoIPPayload
	}
	if len(body) > limit {
		return apnsAnswer{status: http.StatusRequestEntityTooLarge, reason: reasonPayloadTooLarge}
	}
	if len(body) == 0 {
		return bad(reasonPayloadEmpty)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil || doc == nil {
		return bad(reasonBadPayload)
	}
	if _, ok := doc["aps"]; !ok {
		return bad(reasonPayloadEmpty)
	}

	if token == "" {
		return bad(reasonMissingDeviceToken)
	}
	if _, err := hex.DecodeString(token); checkToken && err != nil {
		return bad(reasonBadDeviceToken)
	}
	return apnsAnswer{status: http.StatusOK}
}

// answerParts returns the headers and body of an HTTP answer: apns-id
// always, Retry-After when asked, and for refusals the JSON reason.
func (as *apnsServer) answerParts(r *http.Request, ans apnsAnswer) (http.Header, []byte) {
	h := http.Header{}
	id := r.Header.Get("apns-id")
	if id == "" || !isUUID(id) {
		id = newUUID()
	}
	h.Set("apns-id", strings.ToLower(id))
	if ans.retryAfter {
		h.Set("Retry-After", "1")
	}
	if ans.status == http.StatusOK {
		return h, nil
	}

	body := map[string]any{"reason": ans.reason}
	if !ans.timestamp.IsZero() {
		body["timestamp"] = ans.timestamp.UnixMilli()
	}
	data, err := json.Marshal(body)
	if err != nil {
		panic(fmt.Sprintf("vendorsim: encode apns answer: %v", err))
	}
	h.Set("Content-Type", "application/json")
	return h, data
}

// apnsOutcome is the class of VENDORS.md §1.8 an answer is meant to get.
func apnsOutcome(a apnsAnswer) string {
	switch {
	case a.hang || a.refuse:
		return OutcomeRetryable
	case a.status == http.StatusOK:
		return OutcomeDelivered
	case a.status == http.StatusGone:
		return OutcomeTokenInvalid
	case a.status == http.StatusTooManyRequests:
		return OutcomeThrottled
	case a.status == http.StatusForbidden:
		return OutcomeCredentialError
	case a.status >= 500:
		return OutcomeRetryable
	}
	switch a.reason {
	case reasonBadDeviceToken, "DeviceTokenNotForTopic", reasonMissingDeviceToken:
		return OutcomeTokenInvalid
	case "BadTopic", reasonMissingTopic, reasonTopicDisallowed:
		return OutcomeCredentialError
	case "IdleTimeout":
		return OutcomeRetryable
	}
	return OutcomePayloadError
}

// maskToken keeps the first 6 characters of a device token for logs.
func maskToken(token string) string {
	if len(token) <= 6 {
		return token
	}
	return token[:6] + "…"
}

// isUUID reports whether s has the 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i])) {
				return false
			}
		}
	}
	return true
}

// newUUID returns a random (version 4) UUID in lowercase.
func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("vendorsim: read random uuid: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
