package vendorsim

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sideshow/apns2/certificate"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawFrame is a copy of one frame the server sent, kept after the framer
// reuses its buffers.
type rawFrame struct {
	typ      http2.FrameType
	stream   uint32
	end      bool // END_STREAM
	ack      bool
	status   int
	data     []byte // DATA payload, PING data, GOAWAY debug data
	code     http2.ErrCode
	last     uint32 // GOAWAY last stream id
	inc      uint32 // WINDOW_UPDATE increment
	settings map[http2.SettingID]uint32
}

func (f rawFrame) String() string {
	id := strconv.Itoa(int(f.stream))
	switch f.typ {
	case http2.FrameHeaders:
		return "HEADERS " + id + " :status " + strconv.Itoa(f.status)
	case http2.FrameRSTStream:
		return "RST_STREAM " + id + " " + f.code.String()
	case http2.FrameGoAway:
		return "GOAWAY last " + strconv.Itoa(int(f.last)) + " " + f.code.String() + " " + string(f.data)
	case http2.FrameSettings:
		if v, ok := f.settings[http2.SettingMaxConcurrentStreams]; ok {
			return "SETTINGS MAX_CONCURRENT_STREAMS=" + strconv.Itoa(int(v))
		}
	}
	return f.typ.String() + " " + id
}

// rawConn is a test HTTP/2 client on a bare Framer: it sends exactly the
// frames a test asks for and shows every frame the server sends. Server
// SETTINGS are acknowledged as they arrive unless noAck is set.
type rawConn struct {
	t      *testing.T
	sim    *Sim
	conn   *tls.Conn
	frames chan rawFrame
	seen   []rawFrame // every frame taken from frames, in order

	wmu    sync.Mutex // guards fr writes, enc, nextID
	fr     *http2.Framer
	enc    *hpack.Encoder
	encBuf bytes.Buffer
	nextID uint32
}

// dialRaw opens a TLS connection with ALPN h2, sends the preface and the
// client SETTINGS, and starts reading. certs, if any, authenticate it.
func dialRaw(t *testing.T, sim *Sim, settings []http2.Setting, certs ...tls.Certificate) *rawConn {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(sim.CAPEM())
	addr := strings.TrimPrefix(sim.Endpoint(VendorAPNs), "https://")
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: pool,
		ServerName: "127.0.0.1", NextProtos: []string{"h2"}, Certificates: certs})
	if err != nil {
		t.Fatalf("dial apns: %v", err)
	}
	rc := &rawConn{t: t, sim: sim, conn: c, frames: make(chan rawFrame, 4096), nextID: 1}
	rc.fr = http2.NewFramer(c, c)
	rc.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	rc.enc = hpack.NewEncoder(&rc.encBuf)
	t.Cleanup(func() { c.Close() })

	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatalf("write preface: %v", err)
	}
	if err := rc.fr.WriteSettings(settings...); err != nil {
		t.Fatalf("write settings: %v", err)
	}
	go rc.readLoop()
	return rc
}

func (rc *rawConn) readLoop() {
	defer close(rc.frames)
	for {
		f, err := rc.fr.ReadFrame()
		if err != nil {
			return
		}
		rf := rawFrame{typ: f.Header().Type, stream: f.Header().StreamID}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			rf.end = f.StreamEnded()
			rf.status, _ = strconv.Atoi(f.PseudoValue("status"))
		case *http2.DataFrame:
			rf.end = f.StreamEnded()
			rf.data = append([]byte(nil), f.Data()...)
		case *http2.RSTStreamFrame:
			rf.code = f.ErrCode
		case *http2.WindowUpdateFrame:
			rf.inc = f.Increment
		case *http2.GoAwayFrame:
			rf.code, rf.last = f.ErrCode, f.LastStreamID
			rf.data = append([]byte(nil), f.DebugData()...)
		case *http2.PingFrame:
			rf.ack, rf.data = f.IsAck(), append([]byte(nil), f.Data[:]...)
		case *http2.SettingsFrame:
			rf.ack = f.IsAck()
			rf.settings = map[http2.SettingID]uint32{}
			_ = f.ForeachSetting(func(s http2.Setting) error {
				rf.settings[s.ID] = s.Val
				return nil
			})
			if !rf.ack {
				rc.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
			}
		}
		rc.frames <- rf
	}
}

// write runs one framer write under the write lock, ignoring errors the
// server's close may cause; tests assert on what comes back.
func (rc *rawConn) write(fn func(fr *http2.Framer) error) {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	_ = fn(rc.fr)
}

// open sends the HEADERS of p on a new stream; endStream says whether the
// request ends there (no body). It returns the stream id.
func (rc *rawConn) open(p push, endStream bool) uint32 {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	id := rc.nextID
	rc.nextID += 2
	path := p.path
	if path == "" {
		path = "/3/device/" + p.token
	}
	method := p.method
	if method == "" {
		method = "POST"
	}
	rc.encBuf.Reset()
	fields := []hpack.HeaderField{{Name: ":method", Value: method}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: "api.push.apple.com"}, {Name: ":path", Value: path}}
	for k, v := range p.headers {
		if v != "" {
			fields = append(fields, hpack.HeaderField{Name: k, Value: v})
		}
	}
	for _, f := range fields {
		_ = rc.enc.WriteField(f)
	}
	err := rc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id,
		BlockFragment: rc.encBuf.Bytes(), EndStream: endStream, EndHeaders: true})
	if err != nil {
		rc.t.Fatalf("write headers: %v", err)
	}
	return id
}

// send opens a stream for p and sends its body in one DATA frame.
func (rc *rawConn) send(p push) uint32 {
	id := rc.open(p, false)
	rc.write(func(fr *http2.Framer) error { return fr.WriteData(id, true, []byte(p.body)) })
	return id
}

// next returns the next frame the server sent, failing the test when none
// arrives within 10 s; ok is false when the connection ended.
func (rc *rawConn) next() (rawFrame, bool) {
	rc.t.Helper()
	select {
	case f, ok := <-rc.frames:
		if ok {
			rc.seen = append(rc.seen, f)
		}
		return f, ok
	case <-time.After(10 * time.Second):
		rc.t.Fatalf("no frame within 10 s; seen %v", rc.seen)
		return rawFrame{}, false
	}
}

// await reads frames until one matches, failing if the connection ends
// first.
func (rc *rawConn) await(what string, match func(rawFrame) bool) rawFrame {
	rc.t.Helper()
	for {
		f, ok := rc.next()
		if !ok {
			rc.t.Fatalf("connection ended before %s; seen %v", what, rc.seen)
		}
		if match(f) {
			return f
		}
	}
}

// find returns the index in seen of the first frame after from that
// matches, reading more frames until one does.
func (rc *rawConn) find(what string, from int, match func(rawFrame) bool) int {
	rc.t.Helper()
	for i := from; i < len(rc.seen); i++ {
		if match(rc.seen[i]) {
			return i
		}
	}
	rc.await(what, match)
	return len(rc.seen) - 1
}

// answer waits for the answer on stream id, or finds it among the frames
// seen: its status and body.
func (rc *rawConn) answer(id uint32) (int, string) {
	rc.t.Helper()
	i := rc.find("answer on "+strconv.Itoa(int(id)), 0, func(f rawFrame) bool {
		return f.stream == id && (f.typ == http2.FrameHeaders || f.typ == http2.FrameRSTStream)
	})
	h := rc.seen[i]
	if h.typ == http2.FrameRSTStream {
		rc.t.Fatalf("stream %d reset with %v, want an answer", id, h.code)
	}
	var body []byte
	for end := h.end; !end; {
		i = rc.find("body on "+strconv.Itoa(int(id)), i+1, func(f rawFrame) bool {
			return f.stream == id && f.typ == http2.FrameData
		})
		body, end = append(body, rc.seen[i].data...), rc.seen[i].end
	}
	var reply struct {
		Reason string `json:"reason"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &reply); err != nil {
			rc.t.Fatalf("answer body %q: %v", body, err)
		}
	}
	return h.status, reply.Reason
}

// reset waits for RST_STREAM on stream id, or finds it among the frames
// seen, and returns its code.
func (rc *rawConn) reset(id uint32) http2.ErrCode {
	rc.t.Helper()
	match := func(f rawFrame) bool {
		return f.stream == id && (f.typ == http2.FrameRSTStream || f.typ == http2.FrameHeaders)
	}
	f := rc.seen[rc.find("reset of "+strconv.Itoa(int(id)), 0, match)]
	if f.typ != http2.FrameRSTStream {
		rc.t.Fatalf("stream %d answered %d, want RST_STREAM", id, f.status)
	}
	return f.code
}

// limitSettings waits for the next SETTINGS carrying
// MAX_CONCURRENT_STREAMS and returns it.
func (rc *rawConn) limitSettings() uint32 {
	rc.t.Helper()
	f := rc.await("SETTINGS with a stream limit", func(f rawFrame) bool {
		_, ok := f.settings[http2.SettingMaxConcurrentStreams]
		return f.typ == http2.FrameSettings && !f.ack && ok
	})
	return f.settings[http2.SettingMaxConcurrentStreams]
}

// drain reads until the server ends the connection, failing after 10 s.
func (rc *rawConn) drain() {
	rc.t.Helper()
	for {
		if _, ok := rc.next(); !ok {
			return
		}
	}
}

// index is the position of the first seen frame matching, -1 if none.
func (rc *rawConn) index(match func(rawFrame) bool) int {
	for i, f := range rc.seen {
		if match(f) {
			return i
		}
	}
	return -1
}

// isRefused matches a REFUSED_STREAM reset of any stream.
func isRefused(f rawFrame) bool {
	return f.typ == http2.FrameRSTStream && f.code == http2.ErrCodeRefusedStream
}

// p12Cert is the generated p12 client certificate.
func p12Cert(t *testing.T, creds *Creds) tls.Certificate {
	t.Helper()
	p12, err := base64.StdEncoding.DecodeString(creds.APNs.P12Base64)
	if err != nil {
		t.Fatalf("decode p12 base64: %v", err)
	}
	cert, err := certificate.FromP12Bytes(p12, creds.APNs.P12Password)
	if err != nil {
		t.Fatalf("FromP12Bytes: %v", err)
	}
	return cert
}

// apnsSrv returns the simulator's APNs handler for test knobs.
func apnsSrv(sim *Sim) *apnsServer {
	return sim.vendors[VendorAPNs].handler.(*apnsServer)
}
