//go:build invariants

package persistence

import (
	"strings"
	"testing"
)

func TestInvariantsBallotsNeverGoDown(t *testing.T) {
	tests := []struct {
		name      string
		old, next record
		want      string
	}{
		{"promise down", record{promised: Ballot{5, "a"}},
			record{promised: Ballot{4, "a"}}, "promised ballot went down"},
		{"accepted down", record{promised: Ballot{5, "a"}, accepted: Ballot{5, "a"}},
			record{promised: Ballot{6, "a"}, accepted: Ballot{4, "a"}},
			"accepted ballot went down"},
		{"accept above promise", record{},
			record{promised: Ballot{1, "a"}, accepted: Ballot{2, "a"}}, "above promise"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, tt.want) {
					t.Fatalf("checkTransition panic = %q, want it to contain %q",
						msg, tt.want)
				}
			}()
			checkTransition("k", tt.old, tt.next)
		})
	}

	// A legal step does not panic.
	checkTransition("k", record{promised: Ballot{1, "a"}},
		record{promised: Ballot{1, "a"}, accepted: Ballot{1, "a"}})
}
