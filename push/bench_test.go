package push

import (
	"testing"

	"github.com/herald-im/herald/messages"
)

// BenchmarkDecide is one recipient with two bindings, a typical ext and
// a sender-named template.
func BenchmarkDecide(b *testing.B) {
	const ext = `{"em_apns_ext":{"em_push_title":"Alice","em_push_badge":3,` +
		`"em_push_sound":"ring.caf","extern":{"conv":"g1"}},` +
		`"em_push_ext":{"content":"hello","custom":{"k":"v"}},` +
		`"em_push_template":{"name":"st","title_args":["Alice"],"content_args":["{$msg}"]}}`
	in := fixture(b, ext)
	toGroup(&in)
	in.User.Bindings = []*messages.Binding{bind("d1", "fcm-1", "T1"), bind("d2", "apns-prod", "T2")}
	in.Devices["d2"] = device(offline, 2)
	in.App.Templates["st"] = &messages.Template{Name: "st", TitlePattern: "{0} says",
		ContentPattern: "{$fromNickname}: {0}"}

	b.ReportAllocs()
	for b.Loop() {
		d := Decide(in)
		if d.Bindings[1].Notification == nil {
			b.Fatal("no push")
		}
	}
}

// BenchmarkParseExt parses the ext of BenchmarkDecide; it runs once per
// message, not per recipient.
func BenchmarkParseExt(b *testing.B) {
	raw := []byte(`{"em_apns_ext":{"em_push_title":"Alice","em_push_badge":3,` +
		`"em_push_sound":"ring.caf","extern":{"conv":"g1"}},` +
		`"em_push_ext":{"content":"hello","custom":{"k":"v"}},` +
		`"em_push_template":{"name":"st","title_args":["Alice"],"content_args":["{$msg}"]}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseExt(raw); err != nil {
			b.Fatal(err)
		}
	}
}
