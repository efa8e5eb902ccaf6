package rest

import (
	"net/http"
	"sort"
	"strings"
)

// Router maps exact method and path pairs to handlers and answers unknown
// paths with the contract's JSON 404 and known paths with a wrong method
// with a JSON 405. Paths use http.ServeMux wildcards ("{uri}"); a trailing
// slash is matched exactly, not as a subtree. Register everything before
// serving.
type Router struct {
	mux     *http.ServeMux
	methods map[string][]string
}

// NewRouter returns an empty router.
func NewRouter() *Router {
	rt := &Router{mux: http.NewServeMux(), methods: map[string][]string{}}
	rt.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, ErrNotFound)
	})
	return rt
}

// Handle registers h for method and path.
func (rt *Router) Handle(method, path string, h http.Handler) {
	pattern := path
	if strings.HasSuffix(path, "/") {
		pattern += "{$}"
	}
	rt.mux.Handle(method+" "+pattern, h)

	known := rt.methods[pattern]
	rt.methods[pattern] = append(known, method)
	if known != nil {
		return
	}
	rt.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		allowed := append([]string{"OPTIONS"}, rt.methods[pattern]...)
		sort.Strings(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		WriteError(w, MethodNotAllowed(r.Method))
	})
}

// HandleFunc registers f for method and path.
func (rt *Router) HandleFunc(method, path string, f http.HandlerFunc) {
	rt.Handle(method, path, f)
}

// ServeHTTP applies the trailing-slash rule, then routes.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.URL.Path = withSlash(r.URL.Path)
	rt.mux.ServeHTTP(w, r)
}

// withSlash adds the trailing slash the contract writes, so that a path
// without it answers the same. A last segment with a dot names a file
// ("jwks.json") and keeps its form.
func withSlash(p string) string {
	if p == "" || strings.HasSuffix(p, "/") {
		return p
	}
	last := p[strings.LastIndexByte(p, '/')+1:]
	if strings.Contains(last, ".") {
		return p
	}
	return p + "/"
}
