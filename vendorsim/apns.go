package vendorsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// TODO: APNs realism loop of VENDORS.md §3 is missing: this emulator runs
// on net/http's http2.Server, which cannot change SETTINGS mid-connection,
// answer REFUSED_STREAM, or send GOAWAY with debug data. It needs its own
// http2.Framer + hpack loop (1 stream until a valid JWT, limit 1 after a
// refusal, GOAWAY after ExpiredProviderToken, goaway_every); a later issue.

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

	// slowDelay is how long a "slow" token waits before its answer.
	slowDelay = 2 * time.Second
)

// apnsPushTypes are the apns-push-type values Apple accepts.
var apnsPushTypes = map[string]bool{
	"alert": true, "background": true, "voip": true, "complication": true,
	"fileprovider": true, "mdm": true, "location": true, "liveactivity": true,
	"pushtotalk": true, "widgets": true, "controls": true,
}

// apnsServer answers POST /3/device/<token> as APNs does.
type apnsServer struct {
	sim      *Sim
	creds    *apnsCreds
	jwts     *jwtCache
	attempts *attemptMemory
}

func newAPNsServer(s *Sim, creds *apnsCreds) *apnsServer {
	return &apnsServer{sim: s, creds: creds, jwts: newJWTCache(creds), attempts: newAttemptMemory()}
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

func (as *apnsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := as.sim
	c := connFrom(r.Context())
	rec := Record{
		Vendor:     VendorAPNs,
		Method:     r.Method,
		Path:       r.URL.Path,
		Headers:    recordHeaders(r.Header),
		ReceivedAt: s.now(),
		Conn:       c.id,
		// TODO: Stream stays 0: net/http hides the HTTP/2 stream id; the
		// own-framer loop of VENDORS.md §3 will fill it.
	}
	s.rec.update(VendorAPNs, func(vc *VendorCounters) {
		vc.InFlight++
		vc.PeakInFlight = max(vc.PeakInFlight, vc.InFlight)
	})
	defer s.rec.update(VendorAPNs, func(vc *VendorCounters) { vc.InFlight-- })

	// Read one byte past the largest allowed body to tell "too large".
	body, err := io.ReadAll(io.LimitReader(r.Body, apnsMaxVoIPPayload+1))
	if err != nil {
		s.log.Debug("apns read body failed", "conn", c.id, "err", err)
		panic(http.ErrAbortHandler)
	}
	rec.Payload = recordPayload(body)

	draw := s.faults.draw(VendorAPNs)
	ans := as.decide(r, c, body, &rec, draw)

	// Carry out the answer: wait, then reply, hang or reset.
	if !s.sleep(r.Context(), ans.delay+draw.delay) {
		ans = apnsAnswer{hang: true}
	}
	if ans.hang {
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
	}
	rec.Status = ans.status
	rec.VendorCode = ans.code()
	rec.Outcome = apnsOutcome(ans)
	rec.AnsweredAt = s.now()
	s.rec.add(rec, !draw.noRecord)
	s.log.Debug("apns answer", "token", maskToken(rec.Token), "conn", c.id,
		"status", rec.Status, "code", rec.VendorCode, "attempt", rec.Attempt)
	if ans.refuse {
		s.rec.update(VendorAPNs, func(vc *VendorCounters) { vc.RefusedStreams++ })
	}
	if ans.hang || ans.refuse {
		// TODO: net/http resets with INTERNAL_ERROR, not REFUSED_STREAM;
		// exact codes need the own-framer loop.
		panic(http.ErrAbortHandler)
	}
	as.writeAnswer(w, r, ans)
}

// decide checks the request in APNs order: path and method, credentials,
// topic, injected faults, magic tokens, then headers, payload and token.
func (as *apnsServer) decide(r *http.Request, c *conn, body []byte, rec *Record,
	draw faultDraw,
) apnsAnswer {
	if !strings.HasPrefix(r.URL.Path, apnsDevicePath) {
		return apnsAnswer{status: http.StatusNotFound, reason: reasonBadPath}
	}
	if r.Method != http.MethodPost {
		return apnsAnswer{status: http.StatusMethodNotAllowed, reason: reasonMethodNotAllowed}
	}
	token := strings.TrimPrefix(r.URL.Path, apnsDevicePath)
	rec.Token = token
	rec.Attempt = as.attempts.next(VendorAPNs, token, body)

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

	switch draw.errorKind {
	case ErrorKindTransient:
		return apnsAnswer{status: 503, reason: reasonServiceUnavailable, retryAfter: true}
	case ErrorKindThrottle:
		return apnsAnswer{status: 429, reason: reasonTooManyRequests, retryAfter: true}
	}

	var delay time.Duration
	magic := magicOf(token)
	switch magic {
	case magicDead:
		return apnsAnswer{status: 410, reason: reasonUnregistered, timestamp: as.sim.now()}
	case magicBadDev:
		return apnsAnswer{status: 400, reason: reasonBadDeviceToken}
	case magicThrottle:
		return apnsAnswer{status: 429, reason: reasonTooManyRequests, retryAfter: true}
	case magicFail:
		return apnsAnswer{status: 500, reason: reasonInternalServerError}
	case magicHang:
		return apnsAnswer{hang: true}
	case magicFlaky:
		if rec.Attempt == 1 {
			return apnsAnswer{status: 503, reason: reasonServiceUnavailable, retryAfter: true}
		}
	case magicRefuse:
		if rec.Attempt == 1 {
			return apnsAnswer{refuse: true}
		}
	case magicSlow:
		delay = slowDelay
	}

	// A magic token that ends in success is not hex; skip that check.
	ans := as.checkRequest(r, token, topic, body, magic == "")
	ans.delay = delay
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
		auth, reason := as.jwts.authenticateJWT(c, h, as.sim.now())
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

// writeAnswer sends the status, apns-id and, for refusals, the JSON reason.
func (as *apnsServer) writeAnswer(w http.ResponseWriter, r *http.Request, ans apnsAnswer) {
	id := r.Header.Get("apns-id")
	if id == "" || !isUUID(id) {
		id = newUUID()
	}
	w.Header().Set("apns-id", strings.ToLower(id))
	if ans.retryAfter {
		w.Header().Set("Retry-After", "1")
	}
	if ans.status == http.StatusOK {
		w.WriteHeader(http.StatusOK)
		return
	}

	body := map[string]any{"reason": ans.reason}
	if !ans.timestamp.IsZero() {
		body["timestamp"] = ans.timestamp.UnixMilli()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ans.status)
	_ = json.NewEncoder(w).Encode(body)
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

// recordHeaders lowercases names, joins repeated values and masks the
// provider token.
func recordHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		name := strings.ToLower(k)
		v := strings.Join(vs, ", ")
		if name == "authorization" {
			scheme, _, _ := strings.Cut(v, " ")
			v = scheme + " ***"
		}
		out[name] = v
	}
	return out
}

// recordPayload keeps a JSON body as is and any other body as a JSON
// string, so a record is always valid JSON.
func recordPayload(body []byte) json.RawMessage {
	if len(body) == 0 {
		return json.RawMessage("null")
	}
	if json.Valid(body) {
		return json.RawMessage(body)
	}
	s, _ := json.Marshal(string(body))
	return s
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
