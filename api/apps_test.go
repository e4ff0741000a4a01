package api

import (
	"slices"
	"strings"
	"testing"
)

func TestCreateApp(t *testing.T) {
	h := newHarness(t)
	r := h.do("POST", "/management/orgs/org1/apps", bootstrap, `{"name":"app-1"}`)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	rec := h.be.apps["org1#app-1"]
	env := map[string]any{"action": "post", "application": rec.Uuid, "organization": "org1",
		"applicationName": "app-1", "path": "/management/orgs/org1/apps"}
	for k, v := range env {
		if r.body[k] != v {
			t.Errorf("envelope %s = %v, want %v", k, r.body[k], v)
		}
	}
	d := r.body["data"].(map[string]any)
	keys := []string{"application", "applicationName", "client_id", "client_secret",
		"organization"}
	var got []string
	for k := range d {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, keys) || d["client_id"] != rec.ClientId ||
		d["application"] != rec.Uuid || d["client_secret"] == "" {
		t.Errorf("data = %v", d)
	}

	wantInvalid(t, h.do("POST", "/management/orgs/org1/apps", bootstrap,
		`{"name":"app-1"}`), "name")
}

func TestCreateAppInvalid(t *testing.T) {
	h := newHarness(t)
	tests := []struct{ name, org, body, field string }{
		{"org charset", "org_1", `{"name":"a"}`, "org"},
		{"org 65", strings.Repeat("o", 65), `{"name":"a"}`, "org"},
		{"no name", "org1", `{}`, "name"},
		{"empty name", "org1", `{"name":""}`, "name"},
		{"name charset", "org1", `{"name":"a.b"}`, "name"},
		{"name 65", "org1", `{"name":"` + strings.Repeat("n", 65) + `"}`, "name"},
		{"name type", "org1", `{"name":5}`, "name"},
		{"unparsable", "org1", `{`, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("POST", "/management/orgs/"+tt.org+"/apps", bootstrap, tt.body)
			wantInvalid(t, r, tt.field)
		})
	}
	if len(h.be.apps) != 0 {
		t.Errorf("rejected input created %d apps", len(h.be.apps))
	}
	if r := h.do("POST", "/management/orgs/"+strings.Repeat("o", 64)+"/apps", bootstrap,
		`{"name":"`+strings.Repeat("n", 64)+`"}`); r.status != 200 {
		t.Errorf("names at 64 chars: %d %s", r.status, r.raw)
	}

	h.be.fail = errBoom
	wantError(t, h.do("POST", "/management/orgs/org1/apps", bootstrap, `{"name":"z"}`), 500,
		"internal_error", "")
}
