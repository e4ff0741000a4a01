package app

import (
	"google.golang.org/protobuf/proto"

	"github.com/herald-im/herald/messages"
	"github.com/herald-im/herald/push"
)

// putTemplate creates or updates a template (SPEC.md §8.6). Creating an
// existing name overwrites its patterns and keeps createAt; an update of
// an unknown name is entity_not_found.
func (g *grain) putTemplate(m *messages.PutTemplate) *messages.TemplateReply {
	if e := g.ready(); e != nil {
		return &messages.TemplateReply{Error: e}
	}
	// Checked again here: other transports reach the grain unchecked.
	if e := messages.ValidatePutTemplate(m); e != nil {
		return &messages.TemplateReply{Error: e}
	}
	in := m.Template
	now := g.deps.Now().UnixMilli()
	old := g.rec.Templates[in.Name]
	if old == nil && !m.Create {
		return &messages.TemplateReply{Error: messages.TemplateNotFound(in.Name)}
	}
	t := &messages.Template{Name: in.Name, CreateAt: now}
	if old != nil {
		t = proto.Clone(old).(*messages.Template)
	}
	if m.Create || m.HasTitle {
		t.TitlePattern = in.TitlePattern
	}
	if m.Create || m.HasContent {
		t.ContentPattern = in.ContentPattern
	}
	t.UpdateAt = now
	rec := proto.Clone(g.rec).(*messages.AppRecord)
	if rec.Templates == nil {
		rec.Templates = map[string]*messages.Template{}
	}
	rec.Templates[t.Name] = t
	rec.Modified = now
	if e := g.store(rec); e != nil {
		return &messages.TemplateReply{Error: e}
	}
	return &messages.TemplateReply{Template: t}
}

// deleteTemplate removes a template and answers it. The built-ins are
// undeletable (§8.6).
func (g *grain) deleteTemplate(m *messages.DeleteTemplate) *messages.TemplateReply {
	if e := g.ready(); e != nil {
		return &messages.TemplateReply{Error: e}
	}
	if m.Name == push.TemplateDefault || m.Name == push.TemplateDetail {
		return &messages.TemplateReply{Error: invalid("name")}
	}
	old := g.rec.Templates[m.Name]
	if old == nil {
		return &messages.TemplateReply{Error: messages.TemplateNotFound(m.Name)}
	}
	rec := proto.Clone(g.rec).(*messages.AppRecord)
	delete(rec.Templates, m.Name)
	rec.Modified = g.deps.Now().UnixMilli()
	if e := g.store(rec); e != nil {
		return &messages.TemplateReply{Error: e}
	}
	return &messages.TemplateReply{Template: old}
}

// ready is the error for a grain that cannot serve requests: its state
// did not load, or the app was never created.
func (g *grain) ready() *messages.Error {
	switch {
	case g.failed:
		return unavailable()
	case g.rec == nil:
		return notFound()
	}
	return nil
}
