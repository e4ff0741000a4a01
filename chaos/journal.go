package chaos

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/herald-im/herald/messages"
)

// Journal entry kinds.
const (
	// KindRun opens a journal: the app, its token and the user count.
	KindRun = "run"
	// KindTry is written before a mutation is sent: its value may land
	// even if no answer ever arrives.
	KindTry = "try"
	// KindAck is written when a mutation was answered 200.
	KindAck = "ack"
	// KindPush is written when the client acknowledged a push.
	KindPush = "push"
)

// Mutated keys of a user. Each key's n-th value is derived from n, so a
// stored value tells which write it came from.
const (
	// KeyStable is the binding of device "p", written once at setup with
	// StableToken; pushes are checked against it.
	KeyStable = "p"
	// KeyChurn is the binding of device "m", rewritten with ChurnToken.
	KeyChurn = "m"
	// KeyLanguage is the translation language, rewritten with Language.
	KeyLanguage = "lang"
)

// Push outcomes a journal records.
const (
	PushPushed    = "pushed"
	PushFailed    = "failed"
	PushSkipped   = "skipped"
	PushDuplicate = "duplicate" // a resubmission answered: outcome unknown
)

// Entry is one line of a journal.
type Entry struct {
	Kind string `json:"kind"`

	// KindRun.
	App      string `json:"app,omitempty"`
	Token    string `json:"token,omitempty"`
	Notifier string `json:"notifier,omitempty"`
	Users    int    `json:"users,omitempty"`

	// KindTry, KindAck, KindPush.
	User string `json:"user,omitempty"`
	Key  string `json:"key,omitempty"`
	N    uint64 `json:"n,omitempty"`

	// KindPush.
	Msg     string `json:"msg,omitempty"`
	Device  string `json:"device,omitempty"` // stable token pushed to
	Outcome string `json:"outcome,omitempty"`
}

// UserName is the id of the i-th load user.
func UserName(i int) string { return "u" + strconv.Itoa(i) }

// StableToken is the device token of user i's device "p".
func StableToken(i int) string { return fmt.Sprintf("%08x%056x", i, 0) }

// ChurnToken is the n-th device token of user i's device "m" (n ≥ 1).
func ChurnToken(i int, n uint64) string { return fmt.Sprintf("%08x%056x", i, n) }

// Language is the n-th translation language of a user.
func Language(n uint64) string { return "l-" + strconv.FormatUint(n, 10) }

// churnN reads n back from a ChurnToken; ok is false for anything else.
func churnN(tok string) (uint64, bool) {
	if len(tok) != 64 {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimLeft(tok[8:], "0"), 16, 64)
	return n, err == nil
}

// languageN reads n back from a Language value.
func languageN(lang string) (uint64, bool) {
	s, ok := strings.CutPrefix(lang, "l-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// Writer appends entries to a journal file. It is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	f   *os.File
	buf *bufio.Writer
	err error
}

// Create truncates path and returns a Writer on it.
func Create(path string) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	return &Writer{f: f, buf: bufio.NewWriterSize(f, 64<<10)}, nil
}

// Add appends e; the first write error is kept and returned by Close.
func (w *Writer) Add(e Entry) {
	b, err := json.Marshal(e)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		_, err = w.buf.Write(append(b, '\n'))
	}
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("write journal: %w", err)
	}
}

// Flush writes buffered entries to the file.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.buf.Flush(); err != nil && w.err == nil {
		w.err = fmt.Errorf("flush journal: %w", err)
	}
	return w.err
}

// Close flushes and closes the file.
func (w *Writer) Close() error {
	err := w.Flush()
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close journal: %w", cerr)
	}
	return err
}

// KeyState is what the journal says about one user key: the highest n
// acknowledged and the highest n ever sent. A replica or a read must hold
// a value with Acked ≤ n ≤ Tried: the acknowledged write or a later one
// that may have landed unanswered.
type KeyState struct {
	Acked uint64
	Tried uint64
}

// Journal is a journal read back.
type Journal struct {
	Run    Entry
	Keys   map[string]map[string]*KeyState // user → key → state
	Pushes []Entry
}

// ErrBadJournal: the journal cannot be read.
var ErrBadJournal = errors.New("bad journal")

// Read parses a journal.
func Read(r io.Reader) (*Journal, error) {
	j := &Journal{Keys: map[string]map[string]*KeyState{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrBadJournal, line, err)
		}
		if err := j.add(e); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrBadJournal, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadJournal, err)
	}
	if j.Run.Kind != KindRun {
		return nil, fmt.Errorf("%w: no run entry", ErrBadJournal)
	}
	return j, nil
}

// ReadFile parses the journal at path.
func ReadFile(path string) (*Journal, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	defer f.Close()
	return Read(f)
}

func (j *Journal) add(e Entry) error {
	switch e.Kind {
	case KindRun:
		j.Run = e
	case KindTry, KindAck:
		if e.User == "" || e.Key == "" || e.N == 0 {
			return fmt.Errorf("%s entry without user, key or n", e.Kind)
		}
		keys := j.Keys[e.User]
		if keys == nil {
			keys = map[string]*KeyState{}
			j.Keys[e.User] = keys
		}
		ks := keys[e.Key]
		if ks == nil {
			ks = &KeyState{}
			keys[e.Key] = ks
		}
		ks.Tried = max(ks.Tried, e.N)
		if e.Kind == KindAck {
			ks.Acked = max(ks.Acked, e.N)
		}
	case KindPush:
		if e.Msg == "" || e.User == "" {
			return errors.New("push entry without msg or user")
		}
		j.Pushes = append(j.Pushes, e)
	default:
		return fmt.Errorf("unknown kind %q", e.Kind)
	}
	return nil
}

// Acked counts the acknowledged mutations (keys with Acked > 0).
func (j *Journal) Acked() int {
	n := 0
	for _, keys := range j.Keys {
		for _, ks := range keys {
			if ks.Acked > 0 {
				n++
			}
		}
	}
	return n
}

// UserView is what a read or a replica shows of one user's keys.
type UserView struct {
	Bindings map[string]string // device id → device token
	Language string
}

// ViewOfRecord extracts a UserView from a stored user record.
func ViewOfRecord(rec *messages.UserRecord) UserView {
	v := UserView{Bindings: map[string]string{}, Language: rec.GetLanguage()}
	for _, b := range rec.GetBindings() {
		v.Bindings[b.GetDeviceId()] = b.GetDeviceToken()
	}
	return v
}

// Check compares v with what the journal says of user (the i-th user)
// and returns one problem per key that lost an acknowledged write.
func (j *Journal) Check(i int, v UserView) []string {
	user := UserName(i)
	var problems []string
	for key, ks := range j.Keys[user] {
		if ks.Acked == 0 {
			continue
		}
		if p := checkKey(i, key, ks, v); p != "" {
			problems = append(problems, user+" "+p)
		}
	}
	return problems
}

func checkKey(i int, key string, ks *KeyState, v UserView) string {
	var (
		n  uint64
		ok bool
	)
	switch key {
	case KeyStable:
		if tok := v.Bindings[KeyStable]; tok != StableToken(i) {
			return fmt.Sprintf("binding p = %q, want %q", tok, StableToken(i))
		}
		return ""
	case KeyChurn:
		n, ok = churnN(v.Bindings[KeyChurn])
	case KeyLanguage:
		n, ok = languageN(v.Language)
	default:
		return "unknown key " + key
	}
	if !ok || n < ks.Acked || n > ks.Tried {
		return fmt.Sprintf("%s holds write %d (ok %v), want %d..%d", key, n, ok,
			ks.Acked, ks.Tried)
	}
	return ""
}
