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
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, info.ModTime(), rs)
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
