package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load builds a Config from Default, then the YAML file named by --config
// (or HERALD_CONFIG), then HERALD_* variables of environ, then the flags
// in args (without the program name). It does not validate; call
// Validate. A help flag returns an error wrapping flag.ErrHelp.
func Load(args []string, environ []string) (Config, error) {
	env := envMap(environ)

	// Flags are parsed first only to learn --config; their values are
	// applied last so that they win over the file and the environment.
	flagValues, configFile, err := parseFlags(args)
	if err != nil {
		return Config{}, err
	}
	if configFile == "" {
		configFile = env[envPrefix+"CONFIG"]
	}

	c := Default()
	if configFile != "" {
		if err := loadFile(&c, configFile); err != nil {
			return Config{}, err
		}
	}
	if err := applyEnv(&c, env); err != nil {
		return Config{}, err
	}
	for _, fv := range flagValues {
		f, _ := fieldByName(fv.name)
		if err := f.set(&c, fv.value); err != nil {
			return Config{}, fmt.Errorf("flag --%s: %w", f.name, err)
		}
	}
	return c, nil
}

type flagValue struct{ name, value string }

// parseFlags returns the flags in the order given and the --config value.
// Its errors are one line, like "parse flags: flag provided but not
// defined: -x".
func parseFlags(args []string) (values []flagValue, configFile string, err error) {
	fs := newFlagSet(&values, &configFile)
	if err := fs.Parse(args); err != nil {
		return nil, "", fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, "", fmt.Errorf("parse flags: unexpected argument %q", fs.Arg(0))
	}
	return values, configFile, nil
}

func newFlagSet(values *[]flagValue, configFile *string) *flag.FlagSet {
	fs := flag.NewFlagSet("herald", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(configFile, "config", "", "YAML file of settings (env HERALD_CONFIG)")
	def := Default()
	for _, f := range fields {
		if f.secret {
			continue
		}
		usage := fmt.Sprintf("%s (env %s, default %q)", f.usage, f.envVar(), f.get(&def))
		fs.Func(f.name, usage, func(v string) error {
			// Check the value now so a bad flag fails at parse time.
			scratch := Default()
			if err := f.set(&scratch, v); err != nil {
				return err
			}
			*values = append(*values, flagValue{f.name, v})
			return nil
		})
	}
	return fs
}

// PrintUsage writes the flag list, for --help.
func PrintUsage(w io.Writer) {
	var values []flagValue
	var configFile string
	fs := newFlagSet(&values, &configFile)
	fs.SetOutput(w)
	fmt.Fprintln(w, "Usage of herald:")
	fs.PrintDefaults()
	fmt.Fprintln(w, "Secrets are read only from the environment or the config file:")
	for _, f := range fields {
		if f.secret {
			fmt.Fprintf(w, "  %s (file key %s)\n", f.envVar(), f.yamlKey())
		}
	}
}

func envMap(environ []string) map[string]string {
	env := make(map[string]string)
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, envPrefix) {
			env[k] = v
		}
	}
	return env
}

// applyEnv sets every field whose HERALD_ variable is present, even if
// empty (an empty HERALD_SEEDS clears the seeds). Unknown HERALD_
// variables are ignored: other tools share the prefix.
func applyEnv(c *Config, env map[string]string) error {
	var errs []error
	for _, f := range fields {
		v, ok := env[f.envVar()]
		if !ok {
			continue
		}
		if err := f.set(c, v); err != nil {
			errs = append(errs, fmt.Errorf("env %s: %w", f.envVar(), err))
		}
	}
	return joinErrors(errs)
}

// loadFile applies a YAML mapping of snake_case keys. A list is accepted
// for seeds; unknown keys are errors, so that a typo does not silently
// leave a default in place.
func loadFile(c *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file changes nothing
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config file %s: top level is not a mapping", path)
	}

	var errs []error
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		if err := applyFileEntry(c, key, value); err != nil {
			errs = append(errs, fmt.Errorf("config file %s line %d: %w", path, key.Line, err))
		}
	}
	return joinErrors(errs)
}

func applyFileEntry(c *Config, key, value *yaml.Node) error {
	var f field
	found := false
	for _, candidate := range fields {
		if candidate.yamlKey() == key.Value {
			f, found = candidate, true
			break
		}
	}
	if !found {
		return fmt.Errorf("unknown key %q", key.Value)
	}

	var text string
	switch value.Kind {
	case yaml.ScalarNode:
		text = value.Value
	case yaml.SequenceNode:
		if f.name != "seeds" {
			return fmt.Errorf("%s: a list is not allowed", key.Value)
		}
		var items []string
		for _, item := range value.Content {
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("%s: list items must be strings", key.Value)
			}
			items = append(items, item.Value)
		}
		text = strings.Join(items, ",")
	default:
		return fmt.Errorf("%s: want a value, got a mapping", key.Value)
	}
	if err := f.set(c, text); err != nil {
		return fmt.Errorf("%s: %w", key.Value, err)
	}
	return nil
}

// joinErrors is errors.Join on one line: the parts are separated by "; "
// so that a log line or a terminal shows every problem at once.
func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return multiError(errs)
}

type multiError []error

func (m multiError) Error() string {
	parts := make([]string, len(m))
	for i, err := range m {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (m multiError) Unwrap() []error { return m }
