// Package web holds the built browser client so that the Go binaries can
// serve it without any file beside them. Run `npm run build` in this
// folder before `go build` to embed the current client; until then only
// an empty dist/ is embedded and Built reports false. Everything here is
// read-only and safe for concurrent use.
package web

import (
	"embed"
	"io/fs"
)

// The all: prefix keeps dist/.keep, which lets this compile in a fresh
// clone where the client was never built.
//
//go:embed all:dist
var dist embed.FS

// Assets returns the built client, rooted at the folder that holds
// index.html.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		// fs.Sub fails only on an invalid path name, and "dist" is valid.
		panic(err)
	}
	return sub
}

// Built reports whether the client was built before this binary was, that
// is whether Assets holds an index.html.
func Built() bool {
	_, err := fs.Stat(Assets(), "index.html")
	return err == nil
}
