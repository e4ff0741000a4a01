package push

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/herald-im/herald/messages"
)

// maxCollapseKeyBytes bounds the collapse key (§10).
const maxCollapseKeyBytes = 64

// rendering holds what every binding of one recipient shares: the text,
// the custom keys and the collapse key. Only the badge, the sound and the
// VoIP flag differ per binding.
type rendering struct {
	in               *Input
	ready            bool
	title            string
	content          string
	custom           []byte
	collapseKey      string
	explicitCollapse bool

	// msg caches the {$msg} text once computed.
	msg     string
	haveMsg bool
}

// newRendering prepares the rendering of one recipient. The shared parts
// are computed by the first binding that needs them, so a recipient whose
// bindings all stop renders nothing.
func newRendering(in *Input) *rendering {
	return &rendering{in: in}
}

func (r *rendering) prepare() {
	if r.ready {
		return
	}
	r.ready = true
	in := r.in
	r.title, r.content = r.text()

	m := in.Message
	size := 40 + len(m.GetFrom()) + len(in.Recipient) + len(m.GetMsgId()) +
		len(m.GetGroupId()) + len(in.Ext.custom)
	// Clipped, so that a vendor appending to one binding's copy cannot
	// write into the bytes another binding shares.
	r.custom = slices.Clip(in.appendCustom(make([]byte, 0, size)))

	r.collapseKey = m.GetMsgId()
	if k := in.Ext.apns.collapseKey; k != "" {
		r.collapseKey, r.explicitCollapse = k, true
	}
	r.collapseKey = cutBytes(r.collapseKey, maxCollapseKeyBytes)
}

// notification builds the vendor-neutral notification for one binding.
// The custom bytes are shared between the bindings of one recipient and
// must not be modified.
func (r *rendering) notification(b *messages.Binding, n *messages.Notifier) *messages.Notification {
	r.prepare()
	x := r.in.Ext
	provider := n.GetProvider()
	apns := provider == ProviderAPNs || provider == ProviderAPNsVoIP

	badge := r.in.Devices[b.GetDeviceId()].GetBadge()
	if x.apns.hasBadge {
		badge = x.apns.badge
	}
	sound := ""
	if apns {
		// Android vendors take their sound from android_ext (§7.1).
		sound = x.apns.sound
	}
	return &messages.Notification{
		Title:               r.title,
		Subtitle:            x.apns.subtitle,
		Body:                r.content,
		HasBadge:            true,
		Badge:               badge,
		Sound:               sound,
		Category:            x.apns.category,
		ThreadId:            x.apns.threadID,
		MutableContent:      x.apns.mutableContent,
		ContentAvailable:    x.apns.contentAvailable,
		CollapseKey:         r.collapseKey,
		Custom:              r.custom,
		Voip:                provider == ProviderAPNsVoIP,
		ExplicitCollapseKey: r.explicitCollapse,
		AndroidExt:          x.androidExt,
	}
}

// text chooses title and content (§8.3). A template at level 5 or 4
// supplies both; otherwise each comes from the ext (level 3) or from the
// built-in template of the recipient's display style (levels 1-2), with
// the @ wording of §8.5 replacing a level-2 content.
func (r *rendering) text() (title, content string) {
	if t, ref := r.chosenTemplate(); t != nil {
		return r.expand(t.GetTitlePattern(), ref.titleArgs),
			r.expand(t.GetContentPattern(), ref.contentArgs)
	}

	x := r.in.Ext
	var builtin *messages.Template
	if x.title == "" || x.content == "" {
		builtin = r.builtin()
	}

	title = x.title
	if title == "" {
		title = r.expand(builtin.GetTitlePattern(), nil)
	}
	content = x.content
	switch {
	case content != "":
	case r.atWording():
		content = r.expand(r.atPattern(), nil)
	default:
		content = r.expand(builtin.GetContentPattern(), nil)
	}
	return title, content
}

// chosenTemplate returns the template of level 5 or 4 and its arguments,
// or nil when neither names an existing template.
func (r *rendering) chosenTemplate() (*messages.Template, *templateRef) {
	req := &r.in.Ext.template
	if req.directed.name != "" && r.directedAtRecipient() {
		if t := r.template(req.directed.name); t != nil {
			return t, &req.directed
		}
	}
	if t := r.template(req.outer.name); t != nil {
		return t, &req.outer
	}
	if t := r.template(r.in.User.GetTemplateName()); t != nil {
		return t, &req.outer
	}
	return nil, nil
}

// directedAtRecipient reports whether directed_template.target names the
// recipient; entries with an upper-case letter are ignored (§8.3).
func (r *rendering) directedAtRecipient() bool {
	for _, id := range r.in.Ext.template.directedTargets {
		if id == r.in.Recipient && strings.ToLower(id) == id {
			return true
		}
	}
	return false
}

func (r *rendering) template(name string) *messages.Template {
	if name == "" {
		return nil
	}
	return r.in.App.GetTemplates()[name]
}

// builtin returns the template of the recipient's display style (§8.1),
// falling back to the texts of §8.2 when the app record lacks it.
func (r *rendering) builtin() *messages.Template {
	name, content := TemplateDefault, defaultContent
	if r.in.User.GetDisplayStyle() == 1 {
		name, content = TemplateDetail, detailContent
	}
	if t := r.template(name); t != nil {
		return t
	}
	return &messages.Template{Name: name, TitlePattern: defaultTitle, ContentPattern: content}
}

// atWording reports whether §8.5 applies: a mentioned groupchat recipient
// without disable_at_content.
func (r *rendering) atWording() bool {
	x := r.in.Ext
	return r.in.Message.GetChatType() == "groupchat" && !x.template.disableAtContent &&
		x.mentions(r.in.Recipient)
}

func (r *rendering) atPattern() string {
	if p := r.in.App.GetConfig().GetAtContentPattern(); p != "" {
		return p
	}
	return defaultAtContentPattern
}

// expand runs the two placeholder passes of §8.4: positional arguments,
// then the built-ins on the result. Neither pass rescans what it inserted.
func (r *rendering) expand(pattern string, args []string) string {
	if strings.IndexByte(pattern, '{') < 0 {
		return pattern
	}
	return r.expandBuiltins(expandPositional(pattern, args))
}

// expandPositional replaces {0}…{n} by args[i], or "" when missing.
func expandPositional(s string, args []string) string {
	var out []byte
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 || j >= len(s) || s[j] != '}' {
			continue
		}
		arg := ""
		if n, err := strconv.Atoi(s[i+1 : j]); err == nil && n < len(args) {
			arg = args[n]
		}
		out = append(out, s[last:i]...)
		out = append(out, arg...)
		last = j + 1
		i = j
	}
	if out == nil {
		return s
	}
	return string(append(out, s[last:]...))
}

// Built-in placeholders (§8.4).
const (
	phFromNickname = "{$fromNickname}"
	phDynamicFrom  = "{$dynamicFrom}"
	phMsg          = "{$msg}"
)

func (r *rendering) expandBuiltins(s string) string {
	var out []byte
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '{' || i+1 >= len(s) || s[i+1] != '$' {
			continue
		}
		var val, ph string
		switch rest := s[i:]; {
		case strings.HasPrefix(rest, phFromNickname):
			ph, val = phFromNickname, r.senderName()
		case strings.HasPrefix(rest, phDynamicFrom):
			ph, val = phDynamicFrom, r.dynamicFrom()
		case strings.HasPrefix(rest, phMsg):
			ph, val = phMsg, r.msgText()
		default:
			continue
		}
		out = append(out, s[last:i]...)
		out = append(out, val...)
		last = i + len(ph)
		i = last - 1
	}
	if out == nil {
		return s
	}
	return string(append(out, s[last:]...))
}

// senderName is the sender's display name (§8.1).
func (r *rendering) senderName() string {
	if r.in.SenderDisplayName != "" {
		return r.in.SenderDisplayName
	}
	return r.in.Message.GetFrom()
}

// dynamicFrom is the recipient's remark for the sender, else the group
// nickname of a groupchat, else the sender's display name (§8.4).
func (r *rendering) dynamicFrom() string {
	if s := r.in.Message.GetRemarks()[r.in.Recipient]; s != "" {
		return s
	}
	if r.in.Message.GetChatType() == "groupchat" && r.in.Ext.groupUserNickname != "" {
		return r.in.Ext.groupUserNickname
	}
	return r.senderName()
}

// msgText is {$msg}: the text of a txt body, translated to the
// recipient's language when the message carries it (§9); else the
// summary of the body type.
func (r *rendering) msgText() string {
	if r.haveMsg {
		return r.msg
	}
	body := r.in.Message.GetBody()
	if body.GetType() == "txt" {
		r.msg = translated(body, r.in.User.GetLanguage())
	} else {
		r.msg = r.in.App.GetConfig().GetTypeSummaries()[body.GetType()]
		if r.msg == "" {
			r.msg = defaultTypeSummaries[body.GetType()]
		}
	}
	r.haveMsg = true
	return r.msg
}

// translated returns the body text in lang, matching language codes
// case-insensitively, or the original text.
func translated(body *messages.Body, lang string) string {
	if lang == "" {
		return body.GetText()
	}
	tr := body.GetTranslations()
	if s, ok := tr[lang]; ok {
		return s
	}
	for k, s := range tr {
		if strings.EqualFold(k, lang) {
			return s
		}
	}
	return body.GetText()
}

// appendCustom appends the custom keys f, t, m, g (groupchat only) and e
// (when present) as one compact JSON object (§7.3).
func (in *Input) appendCustom(dst []byte) []byte {
	m := in.Message
	dst = append(dst, `{"f":`...)
	dst = appendString(dst, m.GetFrom())
	dst = append(dst, `,"t":`...)
	dst = appendString(dst, in.Recipient)
	dst = append(dst, `,"m":`...)
	dst = appendString(dst, m.GetMsgId())
	if m.GetChatType() == "groupchat" {
		dst = append(dst, `,"g":`...)
		dst = appendString(dst, m.GetGroupId())
	}
	if e := in.Ext.custom; e != nil {
		dst = append(dst, `,"e":`...)
		dst = append(dst, e...)
	}
	return append(dst, '}')
}

// cutBytes cuts s to at most n bytes without splitting a character.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
