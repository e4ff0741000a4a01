package vendorsim

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestFaultsValidateConnectionKnobs(t *testing.T) {
	neg := Duration(-time.Second)
	tests := []struct {
		name   string
		faults Faults
		field  string // "" = valid
	}{
		{"all set", Faults{MaxStreams: 5, GoAwayEvery: 1000, TokenTTL: Duration(time.Hour)}, ""},
		{"negative goaway_every", Faults{GoAwayEvery: -1}, "global.goaway_every"},
		{"max_streams too big", Faults{MaxStreams: 1 << 31}, "global.max_streams"},
		{"negative token_ttl", Faults{TokenTTL: neg}, "global.token_ttl"},
		{"negative jwt_update_window", Faults{JWTUpdateWindow: &neg}, "global.jwt_update_window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := FaultSet{Global: tt.faults}.Validate()
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tt.field != "" && (err == nil || !strings.Contains(err.Error(), tt.field)):
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.field)
			}
		})
	}
}

func TestFaultsRealismDefaultsOn(t *testing.T) {
	off, on := false, true
	for _, tt := range []struct {
		set  *bool
		want bool
	}{{nil, true}, {&on, true}, {&off, false}} {
		if got := (Faults{APNsRealism: tt.set}).realism(); got != tt.want {
			t.Errorf("realism(%v) = %v, want %v", tt.set, got, tt.want)
		}
	}
}

func TestJWTRulesOf(t *testing.T) {
	zero, five := Duration(0), Duration(5*time.Minute)
	tests := []struct {
		faults Faults
		want   jwtRules
	}{
		{Faults{}, jwtRules{ttl: time.Hour, updateWindow: 20 * time.Minute}},
		{Faults{TokenTTL: Duration(time.Minute)},
			jwtRules{ttl: time.Minute, updateWindow: 20 * time.Minute}},
		{Faults{JWTUpdateWindow: &zero}, jwtRules{ttl: time.Hour}},
		{Faults{JWTUpdateWindow: &five}, jwtRules{ttl: time.Hour, updateWindow: 5 * time.Minute}},
	}
	for i, tt := range tests {
		if got := jwtRulesOf(tt.faults); got != tt.want {
			t.Errorf("case %d: jwtRulesOf = %+v, want %+v", i, got, tt.want)
		}
	}
}

func TestFaultsConnectionKnobsOverControlAPI(t *testing.T) {
	sim, _ := startSim(t)
	body := `{"global":{"goaway_every":5,"apns_realism":false,"token_ttl":"30m",` +
		`"jwt_update_window":"0s","max_streams":9}}`
	var fs FaultSet
	if st := getJSON(t, "PUT", sim.ControlURL()+"/_sim/faults", body, &fs); st != 200 {
		t.Fatalf("PUT faults = %d", st)
	}
	g := fs.Global
	if g.GoAwayEvery != 5 || g.APNsRealism == nil || *g.APNsRealism || g.MaxStreams != 9 ||
		g.TokenTTL != Duration(30*time.Minute) || g.JWTUpdateWindow == nil || *g.JWTUpdateWindow != 0 {
		t.Fatalf("faults after PUT = %+v", g)
	}
	if st := getJSON(t, "PUT", sim.ControlURL()+"/_sim/faults", `{"global":{"goaway_every":-2}}`,
		nil); st != 400 {
		t.Errorf("PUT negative goaway_every = %d, want 400", st)
	}
}

func TestFaultsConnectionKnobsFromYAML(t *testing.T) {
	creds, err := GenCreds(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(creds.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, []byte("faults:\n  vendors:\n    apns:\n      goaway_every: 3\n"+
		"      apns_realism: false\n      jwt_update_window: 0s\n")...)
	if err := os.WriteFile(creds.ConfigFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sim, err := Start(Config{CredsFile: creds.ConfigFile, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer sim.Close()

	f := sim.Faults().Vendors[VendorAPNs]
	if f.GoAwayEvery != 3 || f.APNsRealism == nil || *f.APNsRealism ||
		f.JWTUpdateWindow == nil || *f.JWTUpdateWindow != 0 {
		t.Fatalf("apns faults from YAML = %+v", f)
	}
}
