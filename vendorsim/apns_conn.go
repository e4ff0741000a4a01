package vendorsim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The APNs realism loop (VENDORS.md §3). net/http's http2.Server cannot
// change SETTINGS mid-connection, so APNs connections are served here on
// an http2.Framer with hpack: the stream limit moves with the pushes'
// fate, streams over it are refused, and GOAWAY carries APNs's JSON debug
// data. Requests are checked by the same apnsServer code as on the
// net/http path (prepare, answerParts).

// Settings the APNs emulator announces.
const (
	apnsHeaderTableSize   = 4096
	apnsInitialWindow     = 65535
	apnsMaxFrameSize      = 16384
	apnsMaxHeaderListSize = 8000
)

const (
	// prefaceTimeout bounds the wait for the client's connection preface.
	prefaceTimeout = 10 * time.Second

	// writeTimeout bounds one write, so a client that stops reading
	// cannot hold the connection's lock forever.
	writeTimeout = 10 * time.Second

	// violationLimit is how many streams a client may open over a limit
	// it has acknowledged before it gets GOAWAY.
	violationLimit = 20

	// closeLinger is how long a connection that sent its last answer
	// after GOAWAY waits for the client to close first (closing with
	// unread input would reset the TCP connection and could lose answers).
	closeLinger = time.Second

	// windowUpdateAt is how many received bytes are returned to the
	// client in one WINDOW_UPDATE.
	windowUpdateAt = apnsInitialWindow / 2

	// maxWindow is the largest flow-control window HTTP/2 allows.
	maxWindow = 1<<31 - 1

	// expiredGoAwayDelay is when GOAWAY follows a 403
	// ExpiredProviderToken ("within 1 s").
	expiredGoAwayDelay = 500 * time.Millisecond
)

// GOAWAY debug data, as APNs sends it.
var (
	goAwayShutdown  = []byte(`{"reason":"Shutdown"}`)
	goAwayExpired   = []byte(`{"reason":"ExpiredProviderToken"}`)
	goAwayViolation = []byte("Maximum active streams violated")
)

// streamState is where one stream is in its life on the server.
type streamState int

const (
	streamReading  streamState = iota // headers in, body arriving
	streamHandling                    // request complete, handler at work
	streamSending                     // answer headers out, body waits for window
)

// apnsStream is one open stream of an apnsConn; guarded by apnsConn.mu.
type apnsStream struct {
	id     uint32
	state  streamState
	req    *http.Request
	body   []byte // the first apnsMaxVoIPPayload+1 bytes
	ctx    context.Context
	cancel context.CancelFunc

	recvWin  int32 // what the client may still send
	unacked  int32 // received, not yet returned by WINDOW_UPDATE
	sendWin  int32 // what we may still send
	pending  []byte
	refused  bool // refused by a shrinking limit while handled
	clientRS bool // reset by the client
}

// apnsConn is one APNs connection served by the realism loop.
type apnsConn struct {
	srv   *apnsServer
	c     *conn
	tls   tls.ConnectionState
	full  uint32 // the limit after a successful push
	every int    // goaway_every; 0 = off

	fr       *http2.Framer
	bw       *bufio.Writer
	handlers sync.WaitGroup

	mu           sync.Mutex // guards the rest and every write
	enc          *hpack.Encoder
	encBuf       bytes.Buffer
	streams      map[uint32]*apnsStream
	maxSeen      uint32   // highest stream id the client used
	lastAccepted uint32   // highest stream id taken for processing
	limit        uint32   // MAX_CONCURRENT_STREAMS announced last
	sentLimits   []uint32 // limits of SETTINGS not yet acknowledged
	ackedLimit   uint32   // limit the client acknowledged last
	violations   int
	requests     int
	sendWin      int32 // connection send window
	peerWindow   int32 // client's INITIAL_WINDOW_SIZE
	peerMaxFrame uint32
	recvWin      int32 // connection receive window
	recvUnacked  int32
	goingAway    bool
	closing      bool // GOAWAY sent and every stream done: half-closed
	ended        bool // the reader loop returned
	expiryTimer  *time.Timer
}

// serveConn serves c with the realism loop unless apns_realism is off.
func (as *apnsServer) serveConn(c *conn) bool {
	f := as.env.Faults()
	if !f.realism() {
		return false
	}
	newAPNsConn(as, c, f).serve()
	return true
}

// connKnobs gives the net/http path (realism off) its stream limit and
// goaway_every.
func (as *apnsServer) connKnobs() (uint32, int) {
	f := as.env.Faults()
	return as.streamLimit(f), f.GoAwayEvery
}

// streamLimit is the max_streams knob, else Config.MaxStreams.
func (as *apnsServer) streamLimit(f Faults) uint32 {
	if f.MaxStreams > 0 {
		return f.MaxStreams
	}
	return as.env.sim.cfg.MaxStreams
}

func newAPNsConn(as *apnsServer, c *conn, f Faults) *apnsConn {
	ac := &apnsConn{
		srv:          as,
		c:            c,
		tls:          c.raw.ConnectionState(),
		full:         as.streamLimit(f),
		every:        f.GoAwayEvery,
		streams:      map[uint32]*apnsStream{},
		ackedLimit:   math.MaxUint32,
		sendWin:      apnsInitialWindow,
		peerWindow:   apnsInitialWindow,
		peerMaxFrame: apnsMaxFrameSize,
		recvWin:      apnsInitialWindow,
	}
	ac.bw = bufio.NewWriterSize(deadlineWriter{c.raw}, 32<<10)
	ac.fr = http2.NewFramer(ac.bw, bufio.NewReaderSize(c.raw, 32<<10))
	ac.fr.ReadMetaHeaders = hpack.NewDecoder(apnsHeaderTableSize, nil)
	ac.fr.MaxHeaderListSize = apnsMaxHeaderListSize
	ac.fr.SetMaxReadFrameSize(apnsMaxFrameSize)
	ac.enc = hpack.NewEncoder(&ac.encBuf)

	// A certificate connection is authenticated by its handshake; a
	// token connection gets one stream until a push succeeds.
	ac.limit = 1
	if len(ac.tls.PeerCertificates) > 0 {
		ac.limit = ac.full
	}
	return ac
}

// deadlineWriter bounds every write to the connection by writeTimeout.
type deadlineWriter struct{ c *tls.Conn }

func (w deadlineWriter) Write(p []byte) (int, error) {
	if err := w.c.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return 0, err
	}
	return w.c.Write(p)
}

// serve runs the reader loop until the connection ends, then abandons
// whatever is still open and waits for every handler.
func (ac *apnsConn) serve() {
	ac.c.setGoAway(func() { ac.goAway(http2.ErrCodeNo, goAwayShutdown) })
	defer ac.end()

	if err := ac.readPreface(); err != nil {
		ac.srv.env.Log().Debug("apns preface", "conn", ac.c.id, "err", err)
		return
	}
	ac.mu.Lock()
	ac.fr.WriteSettings(
		http2.Setting{ID: http2.SettingHeaderTableSize, Val: apnsHeaderTableSize},
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: ac.limit},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: apnsInitialWindow},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: apnsMaxFrameSize},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: apnsMaxHeaderListSize},
	)
	ac.sentLimits = append(ac.sentLimits, ac.limit)
	ac.flushLocked()
	ac.mu.Unlock()

	for first := true; ; first = false {
		f, err := ac.fr.ReadFrame()
		if err != nil {
			if ac.readFailed(err) {
				continue
			}
			return
		}
		if _, ok := f.(*http2.SettingsFrame); first && !ok {
			ac.fail(http2.ErrCodeProtocol)
			return
		}
		if err := ac.process(f); err != nil {
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				ac.fail(http2.ErrCode(ce))
			}
			return
		}
	}
}

// readPreface reads the client's connection preface within
// prefaceTimeout.
func (ac *apnsConn) readPreface() error {
	raw := ac.c.raw
	if err := raw.SetReadDeadline(time.Now().Add(prefaceTimeout)); err != nil {
		return err
	}
	buf := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(raw, buf); err != nil {
		return err
	}
	if string(buf) != http2.ClientPreface {
		return errors.New("bad client preface")
	}
	return raw.SetReadDeadline(time.Time{})
}

// readFailed handles a read error and reports whether reading goes on:
// a stream error resets that stream, anything else ends the connection.
func (ac *apnsConn) readFailed(err error) bool {
	var se http2.StreamError
	if errors.As(err, &se) {
		ac.mu.Lock()
		defer ac.mu.Unlock()
		ac.maxSeen = max(ac.maxSeen, se.StreamID)
		ac.resetLocked(se.StreamID, se.Code)
		ac.flushLocked()
		return true
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		ac.fail(http2.ErrCode(ce))
		return false
	}
	if !errors.Is(err, io.EOF) {
		ac.srv.env.Log().Debug("apns read", "conn", ac.c.id, "err", err)
	}
	return false
}

// fail ends the connection on a protocol error: GOAWAY with code.
func (ac *apnsConn) fail(code http2.ErrCode) {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	ac.srv.env.Log().Debug("apns connection error", "conn", ac.c.id, "code", code)
	ac.goAwayLocked(code, nil)
	ac.flushLocked()
}

// end abandons open streams and waits for their handlers; the listener
// closes the connection after.
func (ac *apnsConn) end() {
	ac.mu.Lock()
	ac.ended = true
	if ac.expiryTimer != nil {
		ac.expiryTimer.Stop()
	}
	for _, s := range ac.streams {
		s.cancel()
	}
	ac.mu.Unlock()
	ac.c.raw.Close()
	ac.handlers.Wait()
}

// process handles one frame; a ConnectionError ends the connection.
func (ac *apnsConn) process(f http2.Frame) error {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	defer ac.flushLocked()

	switch f := f.(type) {
	case *http2.SettingsFrame:
		return ac.onSettings(f)
	case *http2.MetaHeadersFrame:
		return ac.onHeaders(f)
	case *http2.DataFrame:
		return ac.onData(f)
	case *http2.WindowUpdateFrame:
		return ac.onWindowUpdate(f)
	case *http2.PingFrame:
		if f.StreamID != 0 {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if !f.IsAck() {
			ac.fr.WritePing(true, f.Data)
		}
	case *http2.RSTStreamFrame:
		return ac.onReset(f)
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	// PRIORITY is ignored, as APNs does; GOAWAY from the client needs
	// nothing: it opens no more streams and closes when done.
	return nil
}

// onSettings applies the client's settings and acknowledges them, or
// records that it acknowledged ours.
func (ac *apnsConn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		if len(ac.sentLimits) > 0 {
			ac.ackedLimit = ac.sentLimits[0]
			ac.sentLimits = ac.sentLimits[1:]
		}
		return nil
	}
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			return ac.setPeerWindow(int32(s.Val))
		case http2.SettingMaxFrameSize:
			ac.peerMaxFrame = s.Val
		case http2.SettingHeaderTableSize:
			ac.enc.SetMaxDynamicTableSizeLimit(s.Val)
		}
		return nil
	})
	if err != nil {
		return err
	}
	ac.fr.WriteSettingsAck()
	ac.flushPendingLocked()
	return nil
}

// setPeerWindow moves every stream's send window by the change of the
// client's INITIAL_WINDOW_SIZE.
func (ac *apnsConn) setPeerWindow(w int32) error {
	delta := int64(w) - int64(ac.peerWindow)
	for _, s := range ac.streams {
		n := int64(s.sendWin) + delta
		if n > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		s.sendWin = int32(n)
	}
	ac.peerWindow = w
	return nil
}

// onWindowUpdate grows a send window and sends what waited for it.
func (ac *apnsConn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	inc := int64(f.Increment)
	// The framer already refuses a zero increment.
	if f.StreamID == 0 {
		if int64(ac.sendWin)+inc > maxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		ac.sendWin += int32(inc)
		ac.flushPendingLocked()
		return nil
	}

	s := ac.streams[f.StreamID]
	switch {
	case s == nil && f.StreamID > ac.maxSeen:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	case s == nil:
		return nil // closed or refused: late updates are harmless
	case int64(s.sendWin)+inc > maxWindow:
		ac.resetLocked(s.id, http2.ErrCodeFlowControl)
		return nil
	}
	s.sendWin += int32(inc)
	ac.flushStreamLocked(s)
	return nil
}

// onReset forgets a stream the client gave up on; its handler sees the
// cancelled context.
func (ac *apnsConn) onReset(f *http2.RSTStreamFrame) error {
	if f.StreamID > ac.maxSeen {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if s := ac.streams[f.StreamID]; s != nil {
		s.clientRS = true
		ac.closeStreamLocked(s)
	}
	return nil
}

// onHeaders opens a stream (refused when over the limit) or takes the
// trailers that end one.
func (ac *apnsConn) onHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if s := ac.streams[id]; s != nil {
		if s.state != streamReading || !f.StreamEnded() {
			ac.resetLocked(id, http2.ErrCodeProtocol)
			return nil
		}
		ac.dispatchLocked(s)
		return nil
	}
	if id%2 == 0 || id <= ac.maxSeen {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	ac.maxSeen = id

	switch {
	case ac.goingAway:
		return nil // above the GOAWAY's last stream: never processed
	case f.Truncated:
		ac.writeHeadersLocked(id, http.StatusRequestHeaderFieldsTooLarge, nil, true)
		return nil
	case uint32(len(ac.streams)) >= ac.limit:
		return ac.refuseOverLimitLocked(id)
	}

	req, err := ac.request(f)
	if err != nil {
		ac.fr.WriteRSTStream(id, http2.ErrCodeProtocol)
		return nil
	}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), connKey{}, ac.c))
	s := &apnsStream{id: id, req: req.WithContext(ctx), ctx: ctx, cancel: cancel,
		recvWin: apnsInitialWindow, sendWin: ac.peerWindow}
	ac.streams[id] = s
	ac.lastAccepted = id
	ac.requests++
	if f.StreamEnded() {
		ac.dispatchLocked(s)
	}
	if ac.every > 0 && ac.requests >= ac.every {
		ac.goAwayLocked(http2.ErrCodeNo, goAwayShutdown)
	}
	return nil
}

// refuseOverLimitLocked resets a stream opened over the limit; a client
// that keeps doing it after acknowledging the limit gets GOAWAY.
func (ac *apnsConn) refuseOverLimitLocked(id uint32) error {
	ac.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
	ac.srv.env.Count(func(vc *VendorCounters) { vc.RefusedStreams++ })
	if uint32(len(ac.streams)) < ac.ackedLimit {
		return nil // the client had not seen the lower limit yet
	}
	ac.violations++
	if ac.violations > violationLimit {
		ac.srv.env.Log().Debug("apns stream limit violated", "conn", ac.c.id)
		ac.goAwayLocked(http2.ErrCodeEnhanceYourCalm, goAwayViolation)
	}
	return nil
}

// request builds the http.Request the APNs checks read.
func (ac *apnsConn) request(f *http2.MetaHeadersFrame) (*http.Request, error) {
	method, path := f.PseudoValue("method"), f.PseudoValue("path")
	if method == "" || path == "" || f.PseudoValue("scheme") == "" {
		return nil, errors.New("missing pseudo-header")
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	for _, hf := range f.RegularFields() {
		h.Add(http.CanonicalHeaderKey(hf.Name), hf.Value)
	}
	st := ac.tls
	return &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     h,
		Body:       http.NoBody,
		Host:       f.PseudoValue("authority"),
		RequestURI: path,
		RemoteAddr: ac.c.raw.RemoteAddr().String(),
		TLS:        &st,
	}, nil
}

// onData takes request body bytes and returns their flow-control credit.
func (ac *apnsConn) onData(f *http2.DataFrame) error {
	n := int32(f.Length)
	if n > ac.recvWin {
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	ac.recvWin -= n
	ac.recvUnacked += n
	if ac.recvUnacked >= windowUpdateAt {
		ac.fr.WriteWindowUpdate(0, uint32(ac.recvUnacked))
		ac.recvWin += ac.recvUnacked
		ac.recvUnacked = 0
	}

	s := ac.streams[f.StreamID]
	switch {
	case s == nil && f.StreamID > ac.maxSeen:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	case s == nil:
		return nil // refused, reset or above a GOAWAY: dropped
	case s.state != streamReading:
		ac.resetLocked(s.id, http2.ErrCodeStreamClosed)
		return nil
	case n > s.recvWin:
		ac.resetLocked(s.id, http2.ErrCodeFlowControl)
		return nil
	}
	s.recvWin -= n
	data := f.Data()
	if room := apnsMaxVoIPPayload + 1 - len(s.body); room > 0 {
		s.body = append(s.body, data[:min(room, len(data))]...)
	}
	if f.StreamEnded() {
		ac.dispatchLocked(s)
		return nil
	}
	s.unacked += n
	if s.unacked >= windowUpdateAt {
		ac.fr.WriteWindowUpdate(s.id, uint32(s.unacked))
		s.recvWin += s.unacked
		s.unacked = 0
	}
	return nil
}

// resetLocked resets stream id with code and forgets it.
func (ac *apnsConn) resetLocked(id uint32, code http2.ErrCode) {
	ac.fr.WriteRSTStream(id, code)
	if s := ac.streams[id]; s != nil {
		ac.closeStreamLocked(s)
	}
}

// closeStreamLocked forgets s and, after GOAWAY, closes the connection
// once nothing is left.
func (ac *apnsConn) closeStreamLocked(s *apnsStream) {
	delete(ac.streams, s.id)
	s.cancel()
	ac.closeIfDoneLocked()
}

// goAway starts a graceful close: GOAWAY now, close when drained.
func (ac *apnsConn) goAway(code http2.ErrCode, debug []byte) {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	ac.goAwayLocked(code, debug)
	ac.flushLocked()
}

// goAwayLocked sends the connection's one GOAWAY with an honest last
// stream id: every stream up to it may be answered, none above it was
// processed.
func (ac *apnsConn) goAwayLocked(code http2.ErrCode, debug []byte) {
	if ac.goingAway || ac.ended {
		return
	}
	ac.goingAway = true
	ac.fr.WriteGoAway(ac.lastAccepted, code, debug)
	ac.srv.env.Count(func(vc *VendorCounters) { vc.GoAways++ })
	ac.closeIfDoneLocked()
}

// closeIfDoneLocked half-closes a connection that sent GOAWAY and has no
// stream left, then lets the client close first (within closeLinger).
func (ac *apnsConn) closeIfDoneLocked() {
	if !ac.goingAway || ac.closing || len(ac.streams) > 0 {
		return
	}
	ac.flushLocked()
	ac.closing = true
	ac.bw.Reset(io.Discard) // nothing more goes out
	_ = ac.c.raw.CloseWrite()
	_ = ac.c.raw.SetReadDeadline(time.Now().Add(closeLinger))
}

// flushLocked sends what the framer buffered; a failed write ends the
// connection (the reader then fails too).
func (ac *apnsConn) flushLocked() {
	if ac.closing {
		return
	}
	if err := ac.bw.Flush(); err != nil {
		ac.bw.Reset(io.Discard)
		ac.c.raw.Close()
	}
}

// writeHeadersLocked writes a response header block, split into
// CONTINUATION frames when it exceeds the client's frame size.
func (ac *apnsConn) writeHeadersLocked(id uint32, status int, h http.Header, end bool) {
	ac.encBuf.Reset()
	_ = ac.enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			_ = ac.enc.WriteField(hpack.HeaderField{Name: strings.ToLower(k), Value: v})
		}
	}

	block := ac.encBuf.Bytes()
	frag := block[:min(len(block), int(ac.peerMaxFrame))]
	block = block[len(frag):]
	ac.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag,
		EndStream: end, EndHeaders: len(block) == 0})
	for len(block) > 0 {
		frag = block[:min(len(block), int(ac.peerMaxFrame))]
		block = block[len(frag):]
		ac.fr.WriteContinuation(id, len(block) == 0, frag)
	}
}

// flushStreamLocked sends as much of s's pending answer body as the
// windows allow; the last piece ends the stream.
func (ac *apnsConn) flushStreamLocked(s *apnsStream) {
	for s.state == streamSending && len(s.pending) > 0 {
		n := min(int32(len(s.pending)), ac.sendWin, s.sendWin, int32(ac.peerMaxFrame))
		if n <= 0 {
			return
		}
		end := int(n) == len(s.pending)
		ac.fr.WriteData(s.id, end, s.pending[:n])
		ac.sendWin -= n
		s.sendWin -= n
		s.pending = s.pending[n:]
	}
	if s.state == streamSending && len(s.pending) == 0 {
		ac.closeStreamLocked(s)
	}
}

// flushPendingLocked retries every answer that waited for window.
func (ac *apnsConn) flushPendingLocked() {
	for _, id := range slices.Sorted(maps.Keys(ac.streams)) {
		if s := ac.streams[id]; s.state == streamSending {
			ac.flushStreamLocked(s)
		}
	}
}
