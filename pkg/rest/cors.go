package rest

import (
	"net/http"
	"slices"
)

// CORS lets the listed origins call h from a browser on another origin.
// Preflight requests from listed origins are answered here; preflight
// requests from anyone else get 403 and no CORS headers, so the browser
// refuses the real request.
func CORS(origins []string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions &&
			r.Header.Get("Access-Control-Request-Method") != ""
		allowed := origin != "" && slices.Contains(origins, origin)
		if origin != "" {
			w.Header().Add("Vary", "Origin")
		}
		if !allowed {
			if preflight {
				WriteError(w, ErrForbidden)
				return
			}
			h.ServeHTTP(w, r)
			return
		}

		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		if !preflight {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PATCH, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}
