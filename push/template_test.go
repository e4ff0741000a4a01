package push

import (
	"testing"

	"github.com/herald-im/herald/messages"
)

func addTemplate(name, title, content string) func(in *Input) {
	return func(in *Input) {
		in.App.Templates[name] = &messages.Template{Name: name, TitlePattern: title,
			ContentPattern: content}
	}
}

func style1(in *Input) { in.User.DisplayStyle = 1 }

func receiverTemplate(name string) func(in *Input) {
	return func(in *Input) { in.User.TemplateName = name }
}

func TestRenderDetailStyle(t *testing.T) {
	runRenderCases(t, []renderCase{
		{name: "F02 nickname", setup: all(style1,
			func(in *Input) { in.SenderDisplayName = "Alice" }),
			title: newMessage, content: "Alice: hi"},
		{name: "F02 no nickname", setup: style1, title: newMessage, content: "alice: hi"},
		{name: "no display name given uses the sender id",
			setup: all(style1, func(in *Input) { in.SenderDisplayName = "" }),
			title: newMessage, content: "alice: hi"},
		{name: "image summary", setup: all(style1,
			func(in *Input) { in.Message.Body = &messages.Body{Type: "img"} }),
			title: newMessage, content: "alice: [Image]"},
		{name: "app summary text", setup: all(style1, func(in *Input) {
			in.Message.Body = &messages.Body{Type: "loc"}
			in.App.Config.TypeSummaries["loc"] = "[位置]"
		}),
			title: newMessage, content: "alice: [位置]"},
		{name: "summary without app entry", setup: all(style1, func(in *Input) {
			in.Message.Body = &messages.Body{Type: "custom"}
			in.App.Config.TypeSummaries = nil
		}),
			title: newMessage, content: "alice: [Message]"},
		{name: "ext content beats detail", ext: `{"em_push_ext":{"content":"C"}}`,
			setup: style1, title: newMessage, content: "C"},
	})
}

func TestRenderTranslation(t *testing.T) {
	translations := func(lang string) func(in *Input) {
		return func(in *Input) {
			in.User.Language = lang
			in.Message.Body.Translations = map[string]string{"en": "hello", "DE": "hallo"}
		}
	}
	runRenderCases(t, []renderCase{
		{name: "translated", setup: all(style1, translations("en")),
			title: newMessage, content: "alice: hello"},
		{name: "language keys case-insensitive", setup: all(style1, translations("de")),
			title: newMessage, content: "alice: hallo"},
		{name: "no entry keeps the text", setup: all(style1, translations("fr")),
			title: newMessage, content: "alice: hi"},
		{name: "language off", setup: all(style1, translations("")),
			title: newMessage, content: "alice: hi"},
		{name: "translation in templates too",
			ext:   `{"em_push_template":{"name":"st"}}`,
			setup: all(translations("en"), addTemplate("st", "{$msg}", "<{$msg}>")),
			title: "hello", content: "<hello>"},
		{name: "non-text types use their summary", setup: all(style1, translations("en"),
			func(in *Input) { in.Message.Body.Type = "video" }),
			title: newMessage, content: "alice: [Video]"},
	})
}

func TestRenderTemplates(t *testing.T) {
	st := addTemplate("st", "title {0}", "{0}-{1}")
	rt := addTemplate("rt", "R {0}", "r {1}")
	directed := `{"em_push_template":{"name":"st","title_args":["o"],"content_args":["x","y"],` +
		`"directed_template":{"name":"dt","target":["bob"],"title_args":["d"],` +
		`"content_args":["u"]}}}`
	dt := addTemplate("dt", "D {0}", "{0}!")
	runRenderCases(t, []renderCase{
		{name: "F11 missing args are empty",
			ext:   `{"em_push_template":{"name":"st","content_args":["a"]}}`,
			setup: st, title: "title ", content: "a-"},
		{name: "F12 unknown template falls to lower levels",
			ext:   `{"em_push_template":{"name":"missing"}}`,
			title: newMessage, content: clickView},
		{name: "level 5 beats level 3",
			ext: `{"em_push_template":{"name":"st","title_args":["1"],` +
				`"content_args":["a","b","c"]},"em_push_ext":{"title":"T","content":"C"}}`,
			setup: st, title: "title 1", content: "a-b"},
		{name: "level 4 receiver template with the outer args",
			ext:   `{"em_push_template":{"title_args":["1"],"content_args":["a","b"]}}`,
			setup: all(rt, receiverTemplate("rt")), title: "R 1", content: "r b"},
		{name: "level 4 beats level 3", ext: `{"em_push_ext":{"title":"T"}}`,
			setup: all(rt, receiverTemplate("rt")), title: "R ", content: "r "},
		{name: "level 5 beats level 4",
			ext:   `{"em_push_template":{"name":"st","content_args":["a","b"]}}`,
			setup: all(st, rt, receiverTemplate("rt")), title: "title ", content: "a-b"},
		{name: "deleted receiver template falls to lower levels",
			setup: receiverTemplate("gone"), title: newMessage, content: clickView},
		{name: "sender names a built-in template",
			ext:   `{"em_push_template":{"name":"detail"}}`,
			title: newMessage, content: "alice: hi"},
		{name: "directed at the recipient", ext: directed, setup: all(st, dt),
			title: "D d", content: "u!"},
		{name: "directed at someone else uses the outer template", ext: directed,
			setup: all(st, dt, func(in *Input) { in.Recipient = "carol" }),
			title: "title o", content: "x-y"},
		{name: "directed target with upper case is ignored",
			ext: `{"em_push_template":{"name":"st","directed_template":{"name":"dt",` +
				`"target":["Bob"]}}}`,
			setup: all(st, dt), title: "title ", content: "-"},
		{name: "directed template that does not exist",
			ext: `{"em_push_template":{"name":"st","content_args":["a"],` +
				`"directed_template":{"name":"nope","target":["bob"]}}}`,
			setup: st, title: "title ", content: "a-"},
		{name: "non-string args",
			ext:   `{"em_push_template":{"name":"st","content_args":[1.5,true,null]}}`,
			setup: st, title: "title ", content: "1.5-true"},
		{name: "args wrong type are none",
			ext:   `{"em_push_template":{"name":"st","content_args":"a"}}`,
			setup: st, title: "title ", content: "-"},
	})
}

func TestRenderPlaceholders(t *testing.T) {
	tpl := func(title, content string) func(in *Input) {
		return all(addTemplate("p", title, content), receiverTemplate("p"))
	}
	args := func(a ...string) string {
		s := `{"em_push_template":{"content_args":[`
		for i, v := range a {
			if i > 0 {
				s += ","
			}
			s += `"` + v + `"`
		}
		return s + `]}}`
	}
	runRenderCases(t, []renderCase{
		{name: "built-ins", setup: tpl("{$fromNickname}", "{$dynamicFrom} {$msg}"),
			title: "alice", content: "alice hi"},
		{name: "built-ins inside args are expanded", ext: args("{$msg}"),
			setup: tpl("t", "[{0}]"), title: "t", content: "[hi]"},
		{name: "positional text is not rescanned", ext: args("{1}", "x"),
			setup: tpl("t", "{0}{1}"), title: "t", content: "{1}x"},
		{name: "built-in text is not rescanned",
			setup: all(tpl("t", "{$msg}"), func(in *Input) { in.Message.Body.Text = "{$msg}" }),
			title: "t", content: "{$msg}"},
		{name: "unknown placeholders stay", ext: args("a"),
			setup: tpl("{x} {$nope} {", "{0x} {-1} {} {$msg"), title: "{x} {$nope} {",
			content: "{0x} {-1} {} {$msg"},
		{name: "huge index is missing", ext: args("a"),
			setup: tpl("t", "<{99999999999999999999}>"), title: "t", content: "<>"},
		{name: "remark beats group nickname",
			ext: `{"em_push_ext":{"group_user_nickname":"Ali"}}`,
			setup: all(toGroup, tpl("t", "{$dynamicFrom}"),
				func(in *Input) { in.Message.Remarks = map[string]string{"bob": "Boss"} }),
			title: "t", content: "Boss"},
		{name: "group nickname in a group",
			ext:   `{"em_push_ext":{"group_user_nickname":"Ali"}}`,
			setup: all(toGroup, tpl("t", "{$dynamicFrom}")), title: "t", content: "Ali"},
		{name: "group nickname ignored in a chat",
			ext:   `{"em_push_ext":{"group_user_nickname":"Ali"}}`,
			setup: tpl("t", "{$dynamicFrom}"), title: "t", content: "alice"},
		{name: "remark of another recipient",
			setup: all(tpl("t", "{$dynamicFrom}"),
				func(in *Input) { in.Message.Remarks = map[string]string{"carol": "X"} }),
			title: "t", content: "alice"},
	})
}

func TestRenderAtWording(t *testing.T) {
	runRenderCases(t, []renderCase{
		{name: "mentioned in a group", ext: `{"em_at_list":["bob"]}`, setup: toGroup,
			title: newMessage, content: "alice在群中@了你"},
		{name: "all mentioned", ext: `{"em_at_list":"all"}`, setup: toGroup,
			title: newMessage, content: "alice在群中@了你"},
		{name: "not in a chat", ext: `{"em_at_list":["bob"]}`,
			title: newMessage, content: clickView},
		{name: "not mentioned", ext: `{"em_at_list":["carol"]}`, setup: toGroup,
			title: newMessage, content: clickView},
		{name: "disabled", ext: `{"em_at_list":["bob"],` +
			`"em_push_template":{"disable_at_content":true}}`, setup: toGroup,
			title: newMessage, content: clickView},
		{name: "ext content wins", ext: `{"em_at_list":["bob"],"em_push_ext":{"content":"C"}}`,
			setup: toGroup, title: newMessage, content: "C"},
		{name: "replaces the detail content too", ext: `{"em_at_list":["bob"]}`,
			setup: all(toGroup, style1), title: newMessage, content: "alice在群中@了你"},
		{name: "app pattern", ext: `{"em_at_list":["bob"]}`,
			setup: all(toGroup, func(in *Input) {
				in.App.Config.AtContentPattern = "{$dynamicFrom} @ you: {$msg}"
			}),
			title: newMessage, content: "alice @ you: hi"},
		{name: "template wins", ext: `{"em_at_list":["bob"],"em_push_template":{"name":"st"}}`,
			setup: all(toGroup, addTemplate("st", "T", "C")), title: "T", content: "C"},
	})
}
