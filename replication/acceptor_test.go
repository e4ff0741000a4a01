package replication

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/persistence"
)

// TestAcceptorAnswers drives the acceptor's request handling against a
// real store: malformed requests get a clear error naming the field and
// change nothing, expired ones are dropped, good ones are applied.
func TestAcceptorAnswers(t *testing.T) {
	store, err := persistence.Open(t.TempDir(), persistence.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer store.Close()
	now := time.Now()
	later := now.Add(time.Minute).UnixMilli()
	past := now.Add(-time.Second).UnixMilli()
	b1 := &messages.RegBallot{Round: 1, Node: "n1"}
	const key = "user/org#app/u"

	tests := []struct {
		name string
		msg  proto.Message
		want proto.Message // nil: no reply
	}{
		{"prepare without ballot", &messages.RegPrepare{Key: key, DeadlineUnixMs: later},
			&messages.RegPromise{Error: illegal("ballot", "ballot is missing")}},
		{"accept without ballot", &messages.RegAccept{Key: key, Seq: 1},
			&messages.RegAccepted{Error: illegal("ballot", "ballot is missing")}},
		{"learn without ballot", &messages.RegLearn{Key: key, Seq: 1},
			&messages.RegLearned{Error: illegal("ballot", "ballot is missing")}},
		{"expired prepare", &messages.RegPrepare{Key: key, Ballot: b1, DeadlineUnixMs: past},
			nil},
		{"expired accept", &messages.RegAccept{Key: key, Ballot: b1, Seq: 1,
			Value: []byte("x"), DeadlineUnixMs: past}, nil},
		{"too many version keys", &messages.RegVersions{Keys: make([]string, maxVersionKeys+1)},
			&messages.RegVersionList{Error: illegal("keys", "4097 keys, max 4096")}},
		{"prepare", &messages.RegPrepare{Key: key, Ballot: b1, DeadlineUnixMs: later},
			&messages.RegPromise{Ok: true, Promised: b1, Accepted: &messages.RegBallot{}}},
		{"accept", &messages.RegAccept{Key: key, Ballot: b1, Seq: 1, Value: []byte("v"),
			DeadlineUnixMs: later}, &messages.RegAccepted{Ok: true, Promised: b1}},
		{"stale learn", &messages.RegLearn{Key: key, Ballot: b1, Seq: 1, Value: []byte("w")},
			&messages.RegLearned{}},
		{"versions", &messages.RegVersions{Keys: []string{key, "app/none"}},
			&messages.RegVersionList{Versions: []*messages.RegVersion{
				{Key: key, Ballot: b1, Seq: 1},
				{Key: "app/none", Ballot: &messages.RegBallot{}},
			}}},
		{"soft batch", &messages.RegPutSoft{Entries: []*messages.RegSoftEntry{
			{Key: "user/org#app/u", Value: []byte("s")}, {Key: "", Value: []byte("bad")},
		}}, nil},
	}
	for _, tt := range tests {
		got := answer(store, tt.msg, now)
		if (got == nil) != (tt.want == nil) || (got != nil && !proto.Equal(got, tt.want)) {
			t.Fatalf("%s: answer = %v, want %v", tt.name, got, tt.want)
		}
	}

	// Only the good requests changed the store.
	version, value, err := store.Get(key)
	want := persistence.Version{Ballot: persistence.Ballot{Round: 1, Node: "n1"}, Seq: 1}
	if err != nil || version != want || string(value) != "v" {
		t.Fatalf("Get = %v, %q, %v, want %v, v", version, value, err, want)
	}
	if soft, err := store.GetSoft("user/org#app/u"); err != nil || string(soft) != "s" {
		t.Fatalf("GetSoft = %q, %v, want s", soft, err)
	}
}
