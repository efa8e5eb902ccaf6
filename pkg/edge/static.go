package edge

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/parley-chat/parley/pkg/rest"
)

// Cache policies. Files under assets/ carry a content hash in their name,
// so they never change; index.html names the current ones and must be
// checked every time.
const (
	cacheForever = "public, max-age=31536000, immutable"
	cacheNever   = "no-cache"
)

// contentTypes fixes the types a web client depends on, whatever the
// host's MIME tables say: a module script served as anything but
// JavaScript does not run.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json",
	".map":   "application/json",
	".svg":   "image/svg+xml",
	".wasm":  "application/wasm",
	".woff2": "font/woff2",
}

// staticFiles serves the web client. A path without a file extension
// that names no file gets index.html, so that the client's own routes
// (/chat/<uri>) work as deep links.
type staticFiles struct{ fsys fs.FS }

func (h staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	f, info, err := openFile(h.fsys, name)
	if errors.Is(err, fs.ErrNotExist) && path.Ext(name) == "" {
		name = "index.html"
		f, info, err = openFile(h.fsys, name)
	}
	if err != nil {
		rest.WriteError(w, rest.ErrNotFound)
		return
	}
	defer f.Close()
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		rest.WriteError(w, rest.ErrInternal)
		return
	}
	switch {
	case name == "index.html":
		w.Header().Set("Cache-Control", cacheNever)
	case strings.HasPrefix(name, "assets/"):
		w.Header().Set("Cache-Control", cacheForever)
	}
	if ct, ok := contentTypes[path.Ext(name)]; ok {
		w.Header().Set("Content-Type", ct)
	}
	setSecurityHeaders(w.Header(), r.Host)
	http.ServeContent(w, r, name, info.ModTime(), rs)
}

// setSecurityHeaders limits what the client's pages may do, so that text
// slipped into a page by mistake cannot run as script, load from or talk
// to other sites, or be framed by them. Vue sets styles through the CSSOM,
// which style-src does not govern, so no 'unsafe-inline' is needed. The
// socket's ws: and wss: addresses are named because browsers older than
// CSP level 3 do not count them as 'self'. No Referer leaves the page: a
// chat's link is its only secret.
func setSecurityHeaders(h http.Header, host string) {
	connect := "connect-src 'self'"
	if plainHost(host) {
		connect += " ws://" + host + " wss://" + host
	}
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; "+
		"style-src 'self'; "+connect+"; img-src 'self' data:; object-src 'none'; "+
		"base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// plainHost reports whether host is a name or address with an optional
// port and nothing else. The Host header comes from the client and may
// hold ';' or ',', which would add directives or sources to the policy.
func plainHost(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	for _, c := range host {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.ContainsRune(".-:[]", c)
		if !ok {
			return false
		}
	}
	return true
}

// openFile opens a regular file; a directory counts as not found.
func openFile(fsys fs.FS, name string) (fs.File, fs.FileInfo, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err == nil && info.IsDir() {
		err = fs.ErrNotExist
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}
