package replication

import (
	"time"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/persistence"
)

// Conversions between the wire messages and the store's types.

func toWireBallot(b persistence.Ballot) *messages.RegBallot {
	return &messages.RegBallot{Round: b.Round, Node: b.Node}
}

func fromWireBallot(b *messages.RegBallot) persistence.Ballot {
	return persistence.Ballot{Round: b.GetRound(), Node: b.GetNode()}
}

// wireValue restores the distinction protobuf loses: a register that holds
// a value (non-zero ballot) never has a nil value, even an empty one.
func wireValue(accepted persistence.Ballot, value []byte) []byte {
	if accepted.IsZero() {
		return nil
	}
	if value == nil {
		return []byte{}
	}
	return value
}

// deadlineMillis is the wire form of a deadline.
func deadlineMillis(t time.Time) int64 {
	return t.UnixMilli()
}

// expired reports whether a request's deadline passed; zero means none.
func expired(deadlineMs int64, now time.Time) bool {
	return deadlineMs != 0 && now.UnixMilli() > deadlineMs
}
