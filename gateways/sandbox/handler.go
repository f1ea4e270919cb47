package sandbox

import "net/http"

// Handler serves everything the sandbox answers over HTTP, under /sandbox/: the hosted checkout
// pages customers pay on (/sandbox/checkout/{id} and its /authenticate step), their stylesheet
// (/sandbox/static/sandbox.css), and the JSON API Client calls (/sandbox/api/v1/..., see
// api.go). Mount it at /sandbox/ without stripping the prefix: it routes the full paths.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sandbox/checkout/{id}", s.showCheckout)
	mux.HandleFunc("POST /sandbox/checkout/{id}", s.submitCard)
	mux.HandleFunc("GET /sandbox/checkout/{id}/authenticate", s.showAuthentication)
	mux.HandleFunc("POST /sandbox/checkout/{id}/authenticate", s.submitAuthentication)
	mux.HandleFunc("GET "+stylesheetPath, serveStylesheet)
	s.routeAPI(mux)
	return mux
}
