package persistence

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestStoreSoftPutGet(t *testing.T) {
	fs := vfs.NewMem()
	s := openMem(t, fs)

	key := UserSoftKey("org#app", "alice")
	if v, err := s.GetSoft(key); v != nil || err != nil {
		t.Fatalf("GetSoft(absent) = %q, %v, want nil, nil", v, err)
	}
	for _, value := range []string{"badge=1", "badge=2"} {
		if err := s.PutSoft(key, []byte(value)); err != nil {
			t.Fatalf("PutSoft(%q): %v", value, err)
		}
		if v, err := s.GetSoft(key); string(v) != value || err != nil {
			t.Fatalf("GetSoft = %q, %v, want %q", v, err, value)
		}
	}

	// Soft keys and register keys are separate spaces.
	if err := s.Scan("", func(k string, _ []byte) error {
		return fmt.Errorf("scan saw %q", k)
	}); err != nil {
		t.Fatalf("Scan after soft writes: %v", err)
	}

	// Close syncs soft state, so a reopen sees the last value.
	closeStore(t, s)
	s = openMem(t, fs)
	defer closeStore(t, s)
	if v, err := s.GetSoft(key); string(v) != "badge=2" || err != nil {
		t.Fatalf("GetSoft after reopen = %q, %v, want %q", v, err, "badge=2")
	}

	if err := s.PutSoft("", []byte("x")); err == nil {
		t.Fatal("PutSoft with empty key succeeded")
	}
	if _, err := s.GetSoft(""); err == nil {
		t.Fatal("GetSoft with empty key succeeded")
	}
}

// TestStoreCrash takes a crash image of the file system holding only what
// was fsynced: acknowledged register writes survive; a soft write survives
// only once something synced the WAL after it.
func TestStoreCrash(t *testing.T) {
	fs := vfs.NewCrashableMem()
	s := openMem(t, fs)
	defer closeStore(t, s)
	r := NewLocalRegisters(s, "n1")
	lease, _ := activate(t, r, UserKey("org#app", "alice"))

	if err := s.PutSoft("before", []byte("1")); err != nil {
		t.Fatalf("PutSoft: %v", err)
	}
	write(t, lease, "acked")
	if err := s.PutSoft("after", []byte("2")); err != nil {
		t.Fatalf("PutSoft: %v", err)
	}

	crashed := fs.CrashClone(vfs.CrashCloneCfg{})
	c := openMem(t, crashed)
	defer closeStore(t, c)
	_, value := activate(t, NewLocalRegisters(c, "n1"), UserKey("org#app", "alice"))
	if string(value) != "acked" {
		t.Fatalf("register after crash = %q, want %q", value, "acked")
	}
	if v, _ := c.GetSoft("before"); string(v) != "1" {
		t.Fatalf("soft write before a sync = %q after crash, want %q", v, "1")
	}
	if v, _ := c.GetSoft("after"); v != nil {
		t.Fatalf("unsynced soft write = %q after crash, want it lost", v)
	}

	// The sync the soft loop performs makes it durable.
	if err := s.syncSoft(); err != nil {
		t.Fatalf("syncSoft: %v", err)
	}
	crashed = fs.CrashClone(vfs.CrashCloneCfg{})
	c2 := openMem(t, crashed)
	defer closeStore(t, c2)
	if v, _ := c2.GetSoft("after"); string(v) != "2" {
		t.Fatalf("synced soft write = %q after crash, want %q", v, "2")
	}
}

func TestStoreScan(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer closeStore(t, s)
	r := NewLocalRegisters(s, "n1")

	for _, kv := range [][2]string{
		{UserKey("org#app", "bob"), "B"},
		{UserKey("org#app", "alice"), "A"},
		{UserKey("org#app2", "carol"), "C"},
		{AppKey("org#app"), "APP"},
	} {
		lease, _ := activate(t, r, kv[0])
		write(t, lease, kv[1])
	}
	// Prepared but never written: not a value, so not scanned.
	activate(t, r, UserKey("org#app", "dave"))

	scan := func(prefix string) string {
		var got []string
		err := s.Scan(prefix, func(k string, v []byte) error {
			got = append(got, k+"="+string(v))
			return nil
		})
		if err != nil {
			t.Fatalf("Scan(%q): %v", prefix, err)
		}
		return strings.Join(got, " ")
	}
	tests := []struct{ prefix, want string }{
		{UserKey("org#app", ""), "user/org#app/alice=A user/org#app/bob=B"},
		{UserKey("org#app2", ""), "user/org#app2/carol=C"},
		{AppKey(""), "app/org#app=APP"},
		{"token/", ""},
		{"", "app/org#app=APP user/org#app/alice=A user/org#app/bob=B " +
			"user/org#app2/carol=C"},
	}
	for _, tt := range tests {
		if got := scan(tt.prefix); got != tt.want {
			t.Errorf("Scan(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}

	stop := errors.New("stop")
	calls := 0
	err := s.Scan("", func(string, []byte) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Scan with failing fn = %v after %d calls, want stop after 1", err, calls)
	}
}

func TestStoreClosed(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	lease, _ := activate(t, NewLocalRegisters(s, "n1"), "k")
	closeStore(t, s)

	checks := map[string]error{
		"Close":   s.Close(),
		"PutSoft": s.PutSoft("k", nil),
		"Scan":    s.Scan("", func(string, []byte) error { return nil }),
		"Write":   lease.Write(t.Context(), []byte("x")),
	}
	_, checks["GetSoft"] = s.GetSoft("k")
	_, checks["Prepare"] = s.Prepare("k", Ballot{9, "n1"})
	_, _, checks["Accept"] = s.Accept("k", Ballot{9, "n1"}, 1, nil)
	_, checks["Learn"] = s.Learn("k", Ballot{9, "n1"}, 1, nil)
	_, _, checks["Get"] = s.Get("k")
	_, checks["Seen"] = s.Seen("k")
	_, checks["Versions"] = s.Versions([]string{"k"})
	_, checks["VersionsAfter"] = s.VersionsAfter("", 10)
	_, _, checks["Activate"] = NewLocalRegisters(s, "n1").Activate(t.Context(), "k")
	if m := s.Metrics(); m != nil {
		t.Errorf("Metrics after Close = %v, want nil", m)
	}
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close error = %v, want ErrClosed", name, err)
		}
	}
}

func TestStoreOpenChecks(t *testing.T) {
	if _, err := Open("", Options{FS: vfs.NewMem()}); err == nil {
		t.Fatal("Open with empty dir succeeded")
	}
	if _, err := Open("db", Options{FS: vfs.NewMem(), SoftSyncInterval: -1}); err == nil {
		t.Fatal("Open with negative SoftSyncInterval succeeded")
	}

	// A directory is used by one store at a time.
	dir := t.TempDir()
	first, err := Open(dir, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	if second, err := Open(dir, Options{}); err == nil {
		second.Close()
		t.Fatal("second Open of a directory in use succeeded")
	}
	if m := first.Metrics(); m == nil || m.WAL.Files == 0 {
		t.Fatalf("Metrics() = %v, want a WAL", m)
	}
	closeStore(t, first)

	// A directory written with another layout version is refused.
	fs := vfs.NewMem()
	db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: pebbleLogger{testLogger(t)}})
	if err != nil {
		t.Fatalf("pebble.Open: %v", err)
	}
	if err := db.Set([]byte(metaLayoutKey), []byte{99}, pebble.Sync); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err = Open("db", Options{FS: fs, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "layout version") {
		t.Fatalf("Open with layout 99 error = %v, want a layout version error", err)
	}
}

func TestKeyBuilders(t *testing.T) {
	tests := []struct{ got, want string }{
		{UserKey("org#app", "alice"), "user/org#app/alice"},
		{UserKey("org#app", ""), "user/org#app/"},
		{UserSoftKey("org#app", "alice"), "user/org#app/alice"},
		{AppKey("org#app"), "app/org#app"},
		{TokenKey("org#app", "apns", "ab/cd"), "token/org#app/apns/ab/cd"},
		{string(registerPebbleKey(AppKey("o#a"))), "reg/app/o#a"},
		{string(softPebbleKey(UserSoftKey("o#a", "u"))), "soft/user/o#a/u"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("key = %q, want %q", tt.got, tt.want)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct{ in, want string }{
		{"reg/", "reg0"},
		{"a\xff", "b"},
		{"\xff\xff", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := string(prefixEnd([]byte(tt.in))); got != tt.want {
			t.Errorf("prefixEnd(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
