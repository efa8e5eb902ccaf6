// Package docs keeps the documentation honest. It builds every command,
// reads their flags from -h, and checks the README's Settings tables
// against them; it checks that docs/API.md names every route and frame
// the code has, and that a running all-in-one answers every endpoint the
// page documents. Its tests share only read-only state set in TestMain.
package docs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the module's root, seen from this package's folder, where
// go test runs it.
const repoRoot = "../.."

// binDir holds every command of cmd/, built once for the package.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parley-docs-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := build()
	if code == 0 {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles every main package under cmd/, so that a command added
// later is checked without a change here.
func build() int {
	cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator), "./cmd/...")
	cmd.Dir = repoRoot
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building commands:", err)
		return 1
	}
	return 0
}

// environ is this process's environment without PARLEY_ settings, which
// would otherwise leak into the commands, plus extra.
func environ(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARLEY_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// readRepoFile returns a file of the repository as text.
func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
