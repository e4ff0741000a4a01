// Repository rules, checked as tests so they cannot drift.
package herald_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goDirs lists the directories of the module that hold non-test Go files.
func goDirs(t *testing.T) map[string][]string {
	t.Helper()
	dirs := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." ||
			d.Name() == "testdata" || d.Name() == "data") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestRepoPackageComments checks that every package says what it is for.
func TestRepoPackageComments(t *testing.T) {
	for dir, files := range goDirs(t) {
		documented := false
		for _, f := range files {
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil,
				parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatalf("parse %s: %v", f, err)
			}
			if parsed.Doc != nil && strings.TrimSpace(parsed.Doc.Text()) != "" {
				documented = true
				break
			}
		}
		if !documented {
			t.Errorf("package in %s has no package comment", dir)
		}
	}
}

// TestRepoFileLength keeps source files readable: none past 1000 lines
// (generated code excepted).
func TestRepoFileLength(t *testing.T) {
	for _, files := range goDirs(t) {
		for _, f := range files {
			if strings.HasSuffix(f, ".pb.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(b), "\n"); n > 1000 {
				t.Errorf("%s has %d lines; split it (limit 1000)", f, n)
			}
		}
	}
}
