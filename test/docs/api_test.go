package docs

import (
	"bytes"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/pkg/auth"
	"github.com/parley-chat/parley/web"
)

const apiDoc = "docs/API.md"

// route is a method and a path, wildcards written "{}".
type route struct{ method, path string }

func (r route) String() string { return r.method + " " + r.path }

var (
	// docRoute is an endpoint as API.md writes it: `POST /auth/users/`.
	docRoute = regexp.MustCompile("`(GET|POST|PATCH|PUT|DELETE) (/[^`\\s?]*)[^`]*`")
	// codeRoute is a route as the code registers it, with the rest
	// router's two arguments or a ServeMux pattern.
	codeRoute = regexp.MustCompile(
		`\.Handle(?:Func)?\("(?:(GET|POST|PATCH|PUT|DELETE)", "|(GET|POST|PATCH|PUT|DELETE) )(/[^"]*)"`)
	wildcard = regexp.MustCompile(`\{[^}]*\}|<[^>]*>`)
)

func normalRoute(method, path string) route {
	return route{method, wildcard.ReplaceAllString(path, "{}")}
}

// docRoutes returns every endpoint API.md names.
func docRoutes(t *testing.T) map[route]bool {
	t.Helper()
	out := map[route]bool{}
	for _, m := range docRoute.FindAllStringSubmatch(readRepoFile(t, apiDoc), -1) {
		out[normalRoute(m[1], m[2])] = true
	}
	return out
}

// codeRoutes returns every route registered in pkg/, and the refresh
// routes at their default path, which the code registers from a setting.
func codeRoutes(t *testing.T) map[route]bool {
	t.Helper()
	out := map[route]bool{
		normalRoute("POST", auth.DefaultRefreshPath):           true,
		normalRoute("POST", auth.DefaultRefreshPath+"revoke/"): true,
	}
	for _, src := range sources(t, "pkg") {
		for _, m := range codeRoute.FindAllStringSubmatch(src, -1) {
			out[normalRoute(m[1]+m[2], m[3])] = true
		}
	}
	return out
}

// sources returns the text of the non-test Go files under dir.
func sources(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry,
		err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") ||
			strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		out = append(out, string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRoutesDocumented checks that API.md names exactly the routes the
// code registers.
func TestRoutesDocumented(t *testing.T) {
	doc, code := docRoutes(t), codeRoutes(t)
	for _, r := range sortedRoutes(code) {
		if !doc[r] {
			t.Errorf("%s does not document %s", apiDoc, r)
		}
	}
	for _, r := range sortedRoutes(doc) {
		if !code[r] {
			t.Errorf("%s documents %s, which no code registers", apiDoc, r)
		}
	}
}

func sortedRoutes(set map[route]bool) []route {
	return slices.SortedFunc(maps.Keys(set), func(a, b route) int {
		return strings.Compare(a.String(), b.String())
	})
}

// TestEndpointsAnswer asks a running all-in-one every endpoint API.md
// names, without credentials or a body: none may answer as an unknown
// path (404) or a known path with another method (405).
func TestEndpointsAnswer(t *testing.T) {
	base := allInOne(t)
	// A path no route has and a method no route takes show that the
	// check below can fail.
	if got := status(t, route{"GET", "/api/no-such-thing/"}, base); got != http.StatusNotFound {
		t.Errorf("GET /api/no-such-thing/ answered %d, want 404", got)
	}
	if got := status(t, route{"DELETE", "/api/chats/"}, base); got != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /api/chats/ answered %d, want 405", got)
	}
	for _, r := range sortedRoutes(docRoutes(t)) {
		if r == (route{"GET", "/"}) && !web.Built() {
			t.Logf("skipping %s: the web client was not built into this binary", r)
			continue
		}
		got := status(t, r, base)
		if got == http.StatusNotFound || got == http.StatusMethodNotAllowed {
			t.Errorf("%s answered %d", r, got)
		}
	}
}

// status sends r to base, with a made-up chat for wildcards, and returns
// the answer's status.
func status(t *testing.T, r route, base string) int {
	t.Helper()
	path := strings.ReplaceAll(r.path, "{}", "AAAAAAAAAAAAAAAAAAAAAA")
	req, err := http.NewRequest(r.method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", r, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// allInOne starts the built all-in-one with its data in a temporary
// folder and returns its base URL once it answers; it is stopped when the
// test ends, and its log shown if the test failed.
func allInOne(t *testing.T) string {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(filepath.Join(binDir, "parley"))
	cmd.Env = environ("PARLEY_ADDR="+addr, "PARLEY_DATA_DIR="+t.TempDir())
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // how it ended shows in its log
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("all-in-one log:\n%s", out.String())
		}
	})
	base := "http://" + addr
	waitHealthy(t, base, exited)
	return base
}

// waitHealthy polls base's /healthz until it answers 200.
func waitHealthy(t *testing.T, base string, exited <-chan struct{}) {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		res, err := c.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatal("the all-in-one exited before answering")
		case <-tick.C:
		}
	}
	t.Fatal("the all-in-one did not answer /healthz within 30s")
}

// freeAddr returns a loopback address whose port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	clientType = regexp.MustCompile(`\btype[A-Z]\w*\s*=\s*"(\w+)"`)
	serverType = regexp.MustCompile(`\bType:\s*"(\w+)"`)
	errorCode  = regexp.MustCompile(`\bCode:\s*"(\w+)"`)
	ownClose   = regexp.MustCompile(`\bclose\w+\s*=\s*(4\d{3})\b`)
	libClose   = regexp.MustCompile(`\bwebsocket\.(Close\w+)`)
	docType    = regexp.MustCompile(`"type":\s*"(\w+)"`)
)

// sentCloseCodes are the library's close codes a server may send; the
// others (1005, 1006, 1015) only ever describe a closed connection.
var sentCloseCodes = map[string]int{
	"CloseNormalClosure":           websocket.CloseNormalClosure,
	"CloseGoingAway":               websocket.CloseGoingAway,
	"CloseProtocolError":           websocket.CloseProtocolError,
	"CloseUnsupportedData":         websocket.CloseUnsupportedData,
	"CloseInvalidFramePayloadData": websocket.CloseInvalidFramePayloadData,
	"ClosePolicyViolation":         websocket.ClosePolicyViolation,
	"CloseMessageTooBig":           websocket.CloseMessageTooBig,
	"CloseMandatoryExtension":      websocket.CloseMandatoryExtension,
	"CloseInternalServerErr":       websocket.CloseInternalServerErr,
	"CloseServiceRestart":          websocket.CloseServiceRestart,
	"CloseTryAgainLater":           websocket.CloseTryAgainLater,
}

// TestFramesDocumented checks that API.md shows an example of every
// frame type the edge reads or writes and of no other, and names every
// error code and close code the edge sends.
func TestFramesDocumented(t *testing.T) {
	edge := strings.Join(sources(t, "pkg/edge"), "\n")
	frames := edge + strings.Join(sources(t, "pkg/hub"), "\n")
	doc := readRepoFile(t, apiDoc)

	types := matches(clientType, edge)
	maps.Copy(types, matches(serverType, frames))
	examples := matches(docType, doc)
	for _, ty := range slices.Sorted(maps.Keys(types)) {
		if !examples[ty] {
			t.Errorf("%s has no example of the %q frame", apiDoc, ty)
		}
	}
	for _, ty := range slices.Sorted(maps.Keys(examples)) {
		if !types[ty] {
			t.Errorf("%s shows a %q frame, which the edge neither reads nor writes", apiDoc, ty)
		}
	}

	spans := map[string]bool{}
	for _, s := range codeSpans(doc) {
		spans[s] = true
	}
	codes := matches(errorCode, edge)
	maps.Copy(codes, matches(ownClose, edge))
	for name := range matches(libClose, edge) {
		if code, ok := sentCloseCodes[name]; ok {
			codes[strconv.Itoa(code)] = true
		}
	}
	for _, c := range slices.Sorted(maps.Keys(codes)) {
		if !spans[c] {
			t.Errorf("%s does not name the code `%s`", apiDoc, c)
		}
	}
}

// matches returns the first group of every match of re in s.
func matches(re *regexp.Regexp, s string) map[string]bool {
	out := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		out[m[1]] = true
	}
	return out
}
