package deploy

import (
	"bufio"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/semver"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, COPY, RUN...
	args string
	line int
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dockerignored reports whether .dockerignore keeps p (relative to the
// repository) out of the build context.
func dockerignored(t *testing.T, p string) bool {
	t.Helper()
	data, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	ignored := false
	for _, line := range strings.Split(string(data), "\n") {
		pat := strings.TrimSpace(line)
		if pat == "" || strings.HasPrefix(pat, "#") {
			continue
		}
		neg := strings.HasPrefix(pat, "!")
		pat = strings.TrimPrefix(strings.TrimPrefix(pat, "!"), "**/")
		for q := p; q != "." && q != "/"; q = path.Dir(q) {
			if ok, _ := path.Match(pat, q); ok || (strings.Contains(line, "**/") && matchBase(pat, q)) {
				ignored = !neg
				break
			}
		}
	}
	return ignored
}

func matchBase(pat, p string) bool {
	ok, _ := path.Match(pat, path.Base(p))
	return ok
}

// TestDockerfile checks by reading what Docker would do: every COPY from
// the build context names files that exist and are not ignored, every
// COPY --from names an earlier stage, the commands are built static, the
// image runs as a non-root user, and the versions agree with go.mod and
// the web client's engines.
func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	stages := map[string]bool{}
	args := map[string]string{}
	var final string
	var built []string
	for _, in := range ins {
		switch in.cmd {
		case "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = v
		case "FROM":
			f := strings.Fields(in.args)
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stages[f[2]] = true
				final = f[2]
			}
		case "COPY":
			checkCopy(t, in, stages)
		case "RUN":
			if strings.Contains(in.args, "go build") {
				built = regexp.MustCompile(`\./cmd/[a-z]+`).FindAllString(in.args, -1)
			}
		case "USER":
			if u := strings.Split(in.args, ":")[0]; u == "0" || u == "root" {
				t.Errorf("line %d: the image runs as root", in.line)
			}
		}
	}
	slices.Sort(built)
	want := []string{"./cmd/archiver", "./cmd/auth", "./cmd/edge", "./cmd/parley"}
	if !slices.Equal(built, want) {
		t.Errorf("go build builds %v, want %v", built, want)
	}
	if last := ins[len(ins)-1]; final != "image" || last.cmd != "ENTRYPOINT" {
		t.Errorf("the last stage is %q ending in %s, want the image stage ending in ENTRYPOINT",
			final, last.cmd)
	}
	if !slices.ContainsFunc(ins, func(in instruction) bool {
		return in.cmd == "ENV" && strings.Contains(in.args, "CGO_ENABLED=0")
	}) {
		t.Error("the commands are not built with CGO_ENABLED=0")
	}
	checkVersions(t, args)
}

// checkCopy checks one COPY's sources.
func checkCopy(t *testing.T, in instruction, stages map[string]bool) {
	t.Helper()
	f := strings.Fields(in.args)
	from := ""
	var srcs []string
	for _, w := range f[:len(f)-1] {
		switch {
		case strings.HasPrefix(w, "--from="):
			from = strings.TrimPrefix(w, "--from=")
		case strings.HasPrefix(w, "--"):
		default:
			srcs = append(srcs, w)
		}
	}
	if from != "" {
		if !stages[from] {
			t.Errorf("line %d: COPY --from=%s names no earlier stage", in.line, from)
		}
		return
	}
	for _, src := range srcs {
		p := strings.TrimSuffix(src, "/")
		if _, err := os.Stat(filepath.Join("../..", p)); err != nil {
			t.Errorf("line %d: COPY source %s does not exist", in.line, src)
		}
		if dockerignored(t, p) {
			t.Errorf("line %d: COPY source %s is excluded by .dockerignore", in.line, src)
		}
	}
}

// checkVersions compares the builder images with go.mod and the web
// client's engines.
func checkVersions(t *testing.T, args map[string]string) {
	t.Helper()
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if goLine == nil || semver.Compare("v"+args["GO_VERSION"], "v"+string(goLine[1])) < 0 {
		t.Errorf("GO_VERSION %q is older than go.mod's go %s", args["GO_VERSION"], goLine[1])
	}
	var pkg struct {
		Engines struct{ Node string } `json:"engines"`
	}
	data, err := os.ReadFile("../../web/package.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		t.Fatal(err)
	}
	min := strings.TrimPrefix(pkg.Engines.Node, ">=")
	if semver.Compare("v"+args["NODE_VERSION"], "v"+min) < 0 {
		t.Errorf("NODE_VERSION %q is older than the web client's engines %q",
			args["NODE_VERSION"], pkg.Engines.Node)
	}
}

// TestDockerignoreKeepsSecretsOut checks the context leaves out what must
// never reach an image layer, and keeps what the build needs.
func TestDockerignoreKeepsSecretsOut(t *testing.T) {
	for p, want := range map[string]bool{
		".git": true, "data/parley.db": true, "signing.pem": true, "web/node_modules/vue": true,
		"cmd/edge/main.go": false, "pkg/edge/edge.go": false, "go.sum": false, "web/src": false,
	} {
		if got := dockerignored(t, p); got != want {
			t.Errorf("%s ignored = %v, want %v", p, got, want)
		}
	}
}
