package vendorsim

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"sort"
	"sync"

	"go.yaml.in/yaml/v3"
)

// VendorSpec is how a vendor file plugs its emulator into vendorsim.
//
// # Adding a vendor
//
// A vendor emulator is one or more files of this package (vendorsim/<name>.go
// and helpers); no shared file changes. apns.go is the worked example: it
// uses every hook. The vendor file:
//
// Step 1. Declares its name, the same string as the Herald provider, the
// vendorsim.yaml key, the fault-set key, the -port and -addr-file key
// and Record.Vendor: const VendorFCM = "fcm".
//
// Step 2. Registers a spec from init:
//
//	func init() {
//		RegisterVendor(VendorSpec{
//			Name:       VendorFCM,
//			HTTP1:      false, // true for OEMs: ALPN h2 and http/1.1
//			MaxStreams: 100,   // FCM 100, OEMs 1000; 0 = Config.MaxStreams
//			Hosts:      []string{"fcm.googleapis.com", "oauth2.googleapis.com"},
//			LoadCreds:  loadFCMCreds, // func(*yaml.Node) (any, error)
//			NewHandler: newFCMServer, // func(*VendorEnv, any) (http.Handler, error)
//			GenCreds:   genFCMCreds,  // func(dir string) (GeneratedCreds, error)
//		})
//	}
//
// Step 3. LoadCreds decodes the vendor's vendorsim.yaml section (top-level key
// = Name) with node.Decode(&section). node is nil when the file has no
// such section, which must load as "no apps". Errors name the field
// ("fcm.projects[0].client_email: empty"). What it returns is handed,
// untouched, to NewHandler (and TLS). Per-vendor knobs such as
// token_ttl live in the section (Duration decodes "1h").
//
// Step 4. NewHandler returns the vendor's http.Handler. All of the vendor's
// paths, token and feedback paths included, are served by it on the
// vendor's one listener and told apart by path, so a notifier's
// auth_endpoint is the same base URL as its endpoint: env.Endpoint()
// or Sim.Endpoint(name). A request goes through:
//
//	x := env.Begin(r)                  // in-flight gauge, faults, base record
//	body, err := ReadBody(r, limit)    // or x.Abandon() when unreadable
//	x.Record.Token, x.Record.App = token, appID
//	x.Record.Auth = RecordAuth{Scheme: "bearer", Subject: appID}
//	x.Record.Payload = RecordPayload(body) // RecordForm(form, "secret") for forms
//	x.Record.Attempt = env.Attempts().Next(token, decodedMessage)
//	switch x.Fault.ErrorKind {         // injected: answer as the vendor does
//	case ErrorKindTransient, ErrorKindThrottle:
//	}
//	m := myMagic.Match(token, x.Record.Attempt) // MagicAnswers[myAnswer]
//	if !x.Delay(r.Context(), m.Delay) || m.Hang {
//		x.Hang(r.Context())
//		x.Finish(0, "NO_ANSWER", OutcomeRetryable)
//		panic(http.ErrAbortHandler)
//	}
//	x.Finish(status, vendorCode, OutcomeTokenInvalid) // records exactly once
//	WriteJSON(w, status, reply)
//
// Token services keep tokens = env.NewTokenIssuer(ttl) and call
// env.CountTokenFetch() per token request, tokens.Issue(appID) to
// answer and tokens.Check(bearer) on pushes (TokenUnknown, TokenExpired
// or TokenValid). Other counters go through env.Count. A handler with
// state of its own (quotas, feedback queues) implements Reset(), which
// Sim.Reset calls; attempt memory and issued tokens reset already.
//
// Step 5. GenCreds writes the vendor's key files into dir and returns the YAML
// Section (any value yaml marshals and LoadCreds reads back) and the
// notifier credential Fields exactly as Herald's notifier takes them
// (fcm: "service_account"; huawei: "client_id", "client_secret"; ...).
// They land in vendorsim.yaml under Name and in Creds.Vendors[Name],
// so tests build notifiers generically:
//
//	n := &messages.Notifier{Provider: name, Endpoint: sim.Endpoint(name),
//		AuthEndpoint: sim.Endpoint(name), Credentials: creds.Vendors[name]}
//
// registry_test.go registers a complete fake vendor the same way.
type VendorSpec struct {
	// Name is the vendor: "apns", "fcm", "huawei", ... Required.
	Name string

	// HTTP1 offers http/1.1 next to h2 by ALPN (the OEM vendors); false
	// serves HTTP/2 only and drops clients that did not pick h2 (APNs,
	// FCM).
	HTTP1 bool

	// MaxStreams is the advertised MAX_CONCURRENT_STREAMS; 0 takes
	// Config.MaxStreams.
	MaxStreams uint32

	// Hosts are the vendor's production host names the server leaf
	// covers, so clients that pin SNI still verify.
	Hosts []string

	// LoadCreds validates the vendor's vendorsim.yaml section; node is
	// nil when the file has none. Required.
	LoadCreds func(node *yaml.Node) (any, error)

	// NewHandler builds the vendor's server from what LoadCreds returned.
	// Required.
	NewHandler func(env *VendorEnv, creds any) (http.Handler, error)

	// TLS may adjust the listener's TLS config for creds (client
	// certificate CAs). Optional.
	TLS func(creds any, conf *tls.Config)

	// GenCreds writes the vendor's credentials into dir for GenCreds.
	// Required.
	GenCreds func(dir string) (GeneratedCreds, error)
}

// GeneratedCreds is what a vendor's GenCreds hook made.
type GeneratedCreds struct {
	// Section goes into vendorsim.yaml under the vendor's name; LoadCreds
	// must accept it back.
	Section any
	// Fields are the notifier credentials matching Section, keyed as
	// Herald's notifier credentials are.
	Fields map[string]string
	// Detail is vendor-specific extra for Creds (APNs: *APNsCreds).
	Detail any
}

var (
	specsMu sync.RWMutex
	specs   = map[string]VendorSpec{}
)

// RegisterVendor adds a vendor emulator. Vendor files call it from init;
// a bad spec or a name registered twice panics, as both are wiring bugs.
func RegisterVendor(spec VendorSpec) {
	if err := spec.validate(); err != nil {
		panic("vendorsim: " + err.Error())
	}
	specsMu.Lock()
	defer specsMu.Unlock()
	if _, dup := specs[spec.Name]; dup {
		panic(fmt.Sprintf("vendorsim: vendor %q registered twice", spec.Name))
	}
	specs[spec.Name] = spec
}

func (s VendorSpec) validate() error {
	switch {
	case s.Name == "" || s.Name == "control" || s.Name == "faults":
		return fmt.Errorf("vendor name %q is empty or reserved", s.Name)
	case s.LoadCreds == nil:
		return fmt.Errorf("vendor %s: LoadCreds is required", s.Name)
	case s.NewHandler == nil:
		return fmt.Errorf("vendor %s: NewHandler is required", s.Name)
	case s.GenCreds == nil:
		return fmt.Errorf("vendor %s: GenCreds is required", s.Name)
	}
	return nil
}

// Vendors lists the registered vendor names, sorted.
func Vendors() []string {
	specsMu.RLock()
	defer specsMu.RUnlock()
	out := make([]string, 0, len(specs))
	for name := range specs {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// registered returns every spec sorted by name.
func registered() []VendorSpec {
	specsMu.RLock()
	defer specsMu.RUnlock()
	out := make([]VendorSpec, 0, len(specs))
	for _, s := range specs {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func knownVendor(v string) bool {
	specsMu.RLock()
	defer specsMu.RUnlock()
	_, ok := specs[v]
	return ok
}

// allVendorHosts gathers every spec's host names for the server leaf.
func allVendorHosts() []string {
	hosts := []string{"localhost"}
	for _, s := range registered() {
		hosts = append(hosts, s.Hosts...)
	}
	return hosts
}
