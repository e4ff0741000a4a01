package chaos

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestValuesNameTheirWrite(t *testing.T) {
	for _, n := range []uint64{1, 2, 255, 1 << 40} {
		if got, ok := churnN(ChurnToken(7, n)); !ok || got != n {
			t.Errorf("churnN(ChurnToken(7, %d)) = %d, %v", n, got, ok)
		}
		if got, ok := languageN(Language(n)); !ok || got != n {
			t.Errorf("languageN(Language(%d)) = %d, %v", n, got, ok)
		}
	}
	for _, bad := range []string{"", StableToken(7), "zz", "l-", "x-3"} {
		if _, ok := churnN(bad); ok {
			t.Errorf("churnN(%q) accepted", bad)
		}
		if _, ok := languageN(bad); ok {
			t.Errorf("languageN(%q) accepted", bad)
		}
	}
	if len(ChurnToken(1, 1)) != 64 || ChurnToken(1, 1) == ChurnToken(2, 1) {
		t.Errorf("tokens must be 64 hex digits and unique per user")
	}
}

func TestJournalRoundTripAndCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.Add(Entry{Kind: KindRun, App: "o#a", Token: "tok", Users: 2})
	for _, e := range []Entry{
		{Kind: KindTry, User: "u0", Key: KeyStable, N: 1},
		{Kind: KindAck, User: "u0", Key: KeyStable, N: 1},
		{Kind: KindTry, User: "u0", Key: KeyChurn, N: 1},
		{Kind: KindAck, User: "u0", Key: KeyChurn, N: 1},
		{Kind: KindTry, User: "u0", Key: KeyChurn, N: 2}, // never answered
		{Kind: KindTry, User: "u0", Key: KeyLanguage, N: 1},
		{Kind: KindAck, User: "u0", Key: KeyLanguage, N: 1},
		{Kind: KindTry, User: "u1", Key: KeyLanguage, N: 1}, // never answered
		{Kind: KindPush, User: "u0", Msg: "m1", Device: StableToken(0), Outcome: PushPushed},
	} {
		w.Add(e)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	j, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if j.Run.App != "o#a" || j.Acked() != 3 || len(j.Pushes) != 1 {
		t.Fatalf("read back run %+v, %d acked keys, %d pushes", j.Run, j.Acked(), len(j.Pushes))
	}

	full := map[string]string{KeyStable: StableToken(0), KeyChurn: ChurnToken(0, 1)}
	tests := []struct {
		name     string
		view     UserView
		problems int
	}{
		{"acked values", UserView{Bindings: full, Language: Language(1)}, 0},
		{"an unanswered later write landed", UserView{Bindings: map[string]string{
			KeyStable: StableToken(0), KeyChurn: ChurnToken(0, 2)}, Language: Language(1)}, 0},
		{"a write never sent", UserView{Bindings: map[string]string{
			KeyStable: StableToken(0), KeyChurn: ChurnToken(0, 3)}, Language: Language(1)}, 1},
		{"language lost", UserView{Bindings: full}, 1},
		{"churn binding lost", UserView{Bindings: map[string]string{
			KeyStable: StableToken(0)}, Language: Language(1)}, 1},
		{"stable binding replaced", UserView{Bindings: map[string]string{
			KeyStable: ChurnToken(0, 9), KeyChurn: ChurnToken(0, 1)}, Language: Language(1)}, 1},
		{"nothing at all", UserView{}, 3},
	}
	for _, tt := range tests {
		if got := j.Check(0, tt.view); len(got) != tt.problems {
			t.Errorf("%s: problems %v, want %d", tt.name, got, tt.problems)
		}
	}
	// u1 has only an unanswered write: nothing is owed.
	if got := j.Check(1, UserView{}); len(got) != 0 {
		t.Errorf("u1 without acked writes: problems %v", got)
	}
}

func TestReadRejectsBadJournals(t *testing.T) {
	for name, text := range map[string]string{
		"no run":       `{"kind":"ack","user":"u0","key":"m","n":1}` + "\n",
		"not json":     "{\n",
		"unknown kind": `{"kind":"run"}` + "\n" + `{"kind":"what"}` + "\n",
		"ack without n": `{"kind":"run"}` + "\n" +
			`{"kind":"ack","user":"u0","key":"m"}` + "\n",
		"push without msg": `{"kind":"run"}` + "\n" + `{"kind":"push","user":"u0"}` + "\n",
	} {
		if _, err := Read(strings.NewReader(text)); !errors.Is(err, ErrBadJournal) {
			t.Errorf("%s: err = %v, want ErrBadJournal", name, err)
		}
	}
}
