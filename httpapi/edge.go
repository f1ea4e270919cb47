package httpapi

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxFormBody bounds the body of every request to the site's pages. No page takes an upload:
// every form is a few fields, and the largest (a catalog product, a bulk action on a few hundred
// rows) is a few kilobytes. Webhooks and the sandbox gateway bound their own bodies.
const maxFormBody = 256 << 10

// parseForms reads the form of every request once, on the request the server itself made, so
// that nothing later parses a copy: a multipart form parsed on a copy keeps its temporary files,
// because the server only removes the ones of its own request. The body is limited to
// maxFormBody (413 beyond it), multipart parts stay in memory within that bound, and whatever
// the parse created is removed when the request ends.
func (s *server) parseForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxFormBody {
			s.tooLarge(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		err := r.ParseMultipartForm(maxFormBody)
		if r.MultipartForm != nil {
			defer func() { _ = r.MultipartForm.RemoveAll() }()
		}
		var tooBig *http.MaxBytesError
		switch {
		case err == nil, errors.Is(err, http.ErrNotMultipart):
		case errors.As(err, &tooBig):
			s.tooLarge(w, r)
			return
		default:
			s.renderError(w, r, http.StatusBadRequest, "Bad request", "The form could not be read. Please go back and try again.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) tooLarge(w http.ResponseWriter, r *http.Request) {
	s.Log.Warn("request body too large", "path", r.URL.Path, "ip", clientIP(r), "content_length", r.ContentLength)
	w.Header().Set("Connection", "close") // the rest of the body is not worth reading
	s.renderError(w, r, http.StatusRequestEntityTooLarge, "Too much data",
		"The form sent more data than any page here accepts. Please go back and try again.")
}

// refuseControlChars answers 422 to a request whose query string or form carries a control
// character or invalid UTF-8, before any handler sees it: no field of ours can hold a NUL (which
// PostgreSQL refuses) or other C0 control. Form values may hold tab, CR and LF, which textareas
// send; the query string may hold none.
func (s *server) refuseControlChars(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query := r.URL.Query()
		for field, vs := range query {
			if !cleanText(field, false) || !allClean(vs, false) {
				s.refuseInput(w, r, field)
				return
			}
		}
		for field, vs := range r.PostForm { // multipart fields included
			if !cleanText(field, false) || !allClean(vs, true) {
				s.refuseInput(w, r, field)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) refuseInput(w http.ResponseWriter, r *http.Request, field string) {
	s.Log.Warn("control character in input", "path", r.URL.Path, "field", truncate(strings.ToValidUTF8(field, "?"), 64), "ip", clientIP(r))
	s.renderError(w, r, http.StatusUnprocessableEntity, "Invalid characters",
		"The request contained invisible control characters, which no field accepts. Please remove them and try again.")
}

func allClean(vs []string, multiline bool) bool {
	for _, v := range vs {
		if !cleanText(v, multiline) {
			return false
		}
	}
	return true
}

// cleanText reports whether v is valid UTF-8 free of C0 control characters and DEL; multiline
// text may hold tab, CR and LF.
func cleanText(v string, multiline bool) bool {
	if !utf8.ValidString(v) {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 0x20 && c != 0x7f {
			continue
		}
		if multiline && (c == '\t' || c == '\r' || c == '\n') {
			continue
		}
		return false
	}
	return true
}

// strictTransport tells browsers to use only HTTPS for two years; New uses it when the
// configured base URL is https.
func strictTransport(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		next.ServeHTTP(w, r)
	})
}

// metricsAccess guards /metrics: with a token configured, only a request bearing it
// (Authorization: Bearer <token>) is served; without one, only a request made directly from
// this host (a loopback peer, not relayed by a proxy) is.
func (s *server) metricsAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Settings.MetricsToken != "" {
			sent, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(sent), []byte(s.Settings.MetricsToken)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		ip := net.ParseIP(clientIP(r))
		proxied := r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != ""
		if ip == nil || !ip.IsLoopback() || proxied {
			http.Error(w, "forbidden: set METRICS_TOKEN to scrape from another host", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
