package docs

import (
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/pkg/envflag"
)

// invocation is a command, or a subcommand of one, with flags of its own.
type invocation struct {
	name string   // as the README's "used by" column writes it
	bin  string   // the binary in binDir
	args []string // what comes before the flags
}

// flagSetName finds the flag sets of the commands' sources. A subcommand's
// set is named "<binary> <subcommand>", which is how it is run.
var flagSetName = regexp.MustCompile(`flag\.NewFlagSet\("([^"]+)"`)

// invocations returns every built binary and every subcommand whose flag
// set the sources of cmd/ name.
func invocations(t *testing.T) []invocation {
	t.Helper()
	entries, err := os.ReadDir(binDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []invocation
	bins := map[string]bool{}
	for _, e := range entries {
		bins[e.Name()] = true
		out = append(out, invocation{name: e.Name(), bin: e.Name()})
	}
	for _, name := range sourceFlagSets(t) {
		bin, sub, ok := strings.Cut(name, " ")
		switch {
		case !bins[bin]:
			t.Errorf("flag set %q belongs to no command built from cmd/", name)
		case ok:
			out = append(out, invocation{name: sub, bin: bin, args: strings.Fields(sub)})
		}
	}
	return out
}

func sourceFlagSets(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "cmd", "*", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range flagSetName.FindAllStringSubmatch(string(b), -1) {
			names = append(names, m[1])
		}
	}
	return names
}

// help runs inv with -h and returns its flags and their defaults.
func help(t *testing.T, inv invocation) map[string]string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, inv.bin), append(inv.args, "-h")...)
	cmd.Env = environ()
	out, _ := cmd.CombinedOutput() // -h exits 0 or 2 depending on the command; the text is what counts
	flags := parseHelp(string(out))
	if len(flags) == 0 {
		t.Errorf("%s -h listed no flags:\n%s", inv.name, out)
	}
	return flags
}

// flagEntry starts a flag in the flag package's help text.
var flagEntry = regexp.MustCompile(`^  -(\S+)`)

// parseHelp reads the flag package's help text: each flag's name and the
// default its usage ends with, "" when it shows none.
func parseHelp(out string) map[string]string {
	flags := map[string]string{}
	var name string
	var usage strings.Builder
	flush := func() {
		if name != "" {
			flags[name] = helpDefault(usage.String())
		}
		name = ""
		usage.Reset()
	}
	for _, line := range strings.Split(out, "\n") {
		if m := flagEntry.FindStringSubmatch(line); m != nil {
			flush()
			name = m[1]
			// One-letter flags keep their usage on the same line.
			if _, u, ok := strings.Cut(line, "\t"); ok {
				usage.WriteString(u)
			}
			continue
		}
		if name != "" && strings.HasPrefix(line, "    \t") {
			usage.WriteString(" " + strings.TrimSpace(line))
			continue
		}
		flush()
	}
	flush()
	return flags
}

// helpDefault returns the value of the last "(default X)" in usage.
func helpDefault(usage string) string {
	const mark = "(default "
	i := strings.LastIndex(usage, mark)
	if i < 0 {
		return ""
	}
	v := usage[i+len(mark):]
	if j := strings.LastIndexByte(v, ')'); j >= 0 {
		v = v[:j]
	}
	if s, err := strconv.Unquote(v); err == nil {
		v = s
	}
	return v
}

// cmdLineOnly are flags a command deliberately does not read from the
// environment; the README says so in words rather than in the table.
var cmdLineOnly = map[string][]string{
	"revoke": {"user", "session"},
}

// setting is one PARLEY_ variable as the commands have it.
type setting struct {
	usedBy   map[string]bool
	defaults map[string]string // command to the default its -h shows
}

// commandSettings returns every PARLEY_ variable some command reads.
func commandSettings(t *testing.T) map[string]*setting {
	t.Helper()
	out := map[string]*setting{}
	for _, inv := range invocations(t) {
		flags := help(t, inv)
		for _, f := range cmdLineOnly[inv.name] {
			if _, ok := flags[f]; !ok {
				t.Errorf("%s has no flag -%s any more: drop it from cmdLineOnly", inv.name, f)
			}
			delete(flags, f)
		}
		for f, def := range flags {
			v := envflag.EnvName(f)
			s := out[v]
			if s == nil {
				s = &setting{usedBy: map[string]bool{}, defaults: map[string]string{}}
				out[v] = s
			}
			s.usedBy[inv.name] = true
			if def != "" {
				s.defaults[inv.name] = def
			}
		}
	}
	return out
}

// readmeSettings returns the README's Settings section.
func readmeSettings(t *testing.T) string {
	t.Helper()
	sec := section(readRepoFile(t, "README.md"), "Settings")
	if sec == "" {
		t.Fatal("README.md has no \"## Settings\" section")
	}
	return sec
}

// rowsByVariable indexes a table's rows by the variable in their first
// cell, reporting rows without one and variables listed twice.
func rowsByVariable(t *testing.T, tb table) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	for _, r := range tb.rows {
		spans := codeSpans(r[0])
		if len(spans) != 1 || !strings.HasPrefix(spans[0], envflag.Prefix) {
			t.Errorf("README Settings: row %q does not name one PARLEY_ variable", r)
			continue
		}
		if rows[spans[0]] != nil {
			t.Errorf("README Settings: %s is listed twice", spans[0])
		}
		rows[spans[0]] = r
	}
	return rows
}

// TestSettingsTable checks the README's table of settings against the
// flags of every command: each variable listed, with exactly the commands
// that read it and every default their -h shows.
func TestSettingsTable(t *testing.T) {
	settings := commandSettings(t)
	tb, ok := tableWith(tables(readmeSettings(t)), "variable", "used by", "meaning", "default")
	if !ok {
		t.Fatal("README Settings: no table headed | variable | used by | meaning | default |")
	}
	rows := rowsByVariable(t, tb)
	for _, v := range slices.Sorted(maps.Keys(settings)) {
		s := settings[v]
		row := rows[v]
		if row == nil {
			t.Errorf("README Settings lacks %s; add a row like\n| `%s` | %s | ... | %s |",
				v, v, strings.Join(names(s.usedBy), ", "), suggestDefault(s))
			continue
		}
		if len(row) != 4 {
			t.Errorf("README Settings: the row of %s has %d cells, want 4", v, len(row))
			continue
		}
		if got := usedBy(row[1]); !maps.Equal(got, s.usedBy) {
			t.Errorf("README Settings: %s is used by %q, the table says %q",
				v, names(s.usedBy), names(got))
		}
		for _, cmd := range slices.Sorted(maps.Keys(s.defaults)) {
			if def := s.defaults[cmd]; !defaultListed(row[3], def) {
				t.Errorf("README Settings: default of %s in %s is `%s`; the table says %q",
					v, cmd, def, row[3])
			}
		}
	}
	for v := range rows {
		if settings[v] == nil {
			t.Errorf("README Settings lists %s, which no command has", v)
		}
	}
}

// usedBy parses a "used by" cell: command names separated by commas.
func usedBy(cell string) map[string]bool {
	out := map[string]bool{}
	for _, n := range strings.Split(cell, ",") {
		if n = strings.Trim(strings.TrimSpace(n), "`"); n != "" {
			out[n] = true
		}
	}
	return out
}

func names(set map[string]bool) []string {
	return slices.Sorted(maps.Keys(set))
}

func suggestDefault(s *setting) string {
	var parts []string
	for _, cmd := range slices.Sorted(maps.Keys(s.defaults)) {
		parts = append(parts, "`"+s.defaults[cmd]+"` ("+cmd+")")
	}
	return strings.Join(parts, ", ")
}

// defaultListed reports whether a code span of cell gives def, durations
// compared by value so that `168h` stands for 168h0m0s.
func defaultListed(cell, def string) bool {
	want, wantErr := time.ParseDuration(def)
	for _, s := range codeSpans(cell) {
		if s == def {
			return true
		}
		if d, err := time.ParseDuration(s); err == nil && wantErr == nil && d == want {
			return true
		}
	}
	return false
}

// TestCommandLineOnlyFlags checks that the flags the table leaves out are
// really not read from the environment, and that the README says so.
func TestCommandLineOnlyFlags(t *testing.T) {
	sec := readmeSettings(t)
	data := "PARLEY_DATA_DIR=" + t.TempDir()
	for cmd, flags := range cmdLineOnly {
		for _, f := range flags {
			if !strings.Contains(sec, "`-"+f) {
				t.Errorf("README Settings does not say that %s takes -%s only as a flag", cmd, f)
			}
			// The command run bare fails on its missing target; were the
			// variable read, it would get further and say something else.
			bare := run(t, "parley", []string{cmd}, data)
			withEnv := run(t, "parley", []string{cmd}, data, envflag.EnvName(f)+"=someone")
			if bare != withEnv {
				t.Errorf("%s reads %s:\nwithout it: %s\nwith it: %s",
					cmd, envflag.EnvName(f), bare, withEnv)
			}
		}
	}
}

// run runs a built command with env and returns its output.
func run(t *testing.T, bin string, args []string, env ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, bin), args...)
	cmd.Env = environ(env...)
	out, _ := cmd.CombinedOutput() // failing is what the callers expect
	return string(out)
}

// toolSources are where tests and development scripts read variables of
// their own.
var toolSources = []string{
	"test", "web/e2e", "web/scripts", "web/vite.config.js", "scripts", "pkg/testenv",
	".ci", "Makefile",
}

var variable = regexp.MustCompile(`\bPARLEY_[A-Z0-9_]*[A-Z0-9]`)

// TestToolVariables checks the README's second table: every PARLEY_
// variable that tests and scripts read and no command has.
func TestToolVariables(t *testing.T) {
	settings := commandSettings(t)
	found := map[string]string{}
	for _, src := range toolSources {
		scanVariables(t, filepath.Join(repoRoot, src), found)
	}
	tb, ok := tableWith(tables(readmeSettings(t)), "variable", "read by", "meaning", "default")
	if !ok {
		t.Fatal("README Settings: no table headed | variable | read by | meaning | default |")
	}
	rows := rowsByVariable(t, tb)
	for _, v := range slices.Sorted(maps.Keys(found)) {
		if settings[v] == nil && rows[v] == nil {
			t.Errorf("README Settings: %s (read in %s) is in neither table", v, found[v])
		}
	}
	for v := range rows {
		switch {
		case settings[v] != nil:
			t.Errorf("README Settings: %s is a command's setting; it belongs in the first table", v)
		case found[v] == "":
			t.Errorf("README Settings lists %s, which no test or script reads", v)
		}
	}
}

// scanVariables records in found each variable named in the text files
// under root, with the first file naming it.
func scanVariables(t *testing.T, root string, found map[string]string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "node_modules" || d.Name() == "test-results" ||
			path == filepath.Join(repoRoot, "test", "docs")):
			return filepath.SkipDir
		case d.IsDir() || !textFile(d.Name()):
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range variable.FindAllString(string(b), -1) {
			if found[v] == "" {
				found[v], _ = filepath.Rel(repoRoot, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func textFile(name string) bool {
	switch filepath.Ext(name) {
	case ".go", ".js", ".mjs", ".ts", ".sh", ".yaml", ".yml", "":
		return true
	}
	return false
}

func TestParseHelp(t *testing.T) {
	out := "usage: tool [flags] list\n\nsome words\n" +
		"  -addr string\n    \tlisten address (default \":8000\")\n" +
		"  -ttl duration\n    \tlifetime (default 5m)\n" +
		"  -replicas int\n    \treplicas (3 in a cluster) (default 1)\n" +
		"  -url string\n    \tbase URL, comma-separated\n    \tover two lines\n" +
		"  -v\tverbose\n"
	want := map[string]string{"addr": ":8000", "ttl": "5m", "replicas": "1", "url": "", "v": ""}
	if got := parseHelp(out); !maps.Equal(got, want) {
		t.Fatalf("parseHelp = %q, want %q", got, want)
	}
}

func TestDefaultListed(t *testing.T) {
	tests := []struct {
		cell, def string
		want      bool
	}{
		{"`168h`", "168h0m0s", true},
		{"`:8000` (parley), `:8001` (auth)", ":8001", true},
		{"`10s`", "5s", false},
		{"none", "json", false},
		{"`json`", "json", true},
	}
	for _, tt := range tests {
		if got := defaultListed(tt.cell, tt.def); got != tt.want {
			t.Errorf("defaultListed(%q, %q) = %v, want %v", tt.cell, tt.def, got, tt.want)
		}
	}
}
