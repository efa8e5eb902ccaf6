package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binDir holds the commands built by Main.
var binDir string

// Build compiles the main packages pkgs, given as for go build (paths
// relative to the module root, or import paths of tool dependencies),
// into a new temporary directory and returns it. The race detector is
// left out: the packages' own tests run under it, and this keeps the
// process-level runs short.
func Build(pkgs ...string) (dir string, err error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err = os.MkdirTemp("", "parley-bin")
	if err != nil {
		return "", fmt.Errorf("making build directory: %w", err)
	}
	cmd := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("building %s: %w", strings.Join(pkgs, " "), err)
	}
	return dir, nil
}

// moduleRoot is the directory of the module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("finding the module: not inside one")
	}
	return filepath.Dir(gomod), nil
}

// Main is a whole TestMain: it builds pkgs, runs the tests when that
// worked, removes the build and exits.
func Main(m *testing.M, pkgs ...string) {
	dir, err := Build(pkgs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Bin is the path of the built command name.
func Bin(name string) string {
	return filepath.Join(binDir, name)
}
