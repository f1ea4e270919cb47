package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/store"
)

const (
	sessionCookie = "ezscale_session"
	csrfCookie    = "ezscale_csrf"
	themeCookie   = "ezscale_theme"
)

type ctxKey int

const (
	userKey ctxKey = iota
	sessionKey
	csrfKey
	impersonatorKey
)

// currentUser is the logged-in user, or nil.
func currentUser(r *http.Request) *store.User {
	u, _ := r.Context().Value(userKey).(*store.User)
	return u
}

// currentSession is the hash of the request's live session, or nil.
func currentSession(r *http.Request) []byte {
	h, _ := r.Context().Value(sessionKey).([]byte)
	return h
}

// impersonator is the member of staff acting as the signed-in customer, or nil in the user's own session.
func impersonator(r *http.Request) *store.User {
	u, _ := r.Context().Value(impersonatorKey).(*store.User)
	return u
}

// loadSession resolves the session cookie to a user (and, in an impersonation session, the member
// of staff acting). An unknown or expired cookie is cleared.
func (s *server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		hash := auth.HashSecret(c.Value)
		sess, u, err := s.Store.SessionUser(r.Context(), hash, s.Settings.SessionLifetime)
		var staff store.User
		if err == nil && sess.ImpersonatorID.Valid {
			staff, err = s.Store.UserByID(r.Context(), sess.ImpersonatorID.Int64)
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.clearCookie(w, sessionCookie)
		case err != nil:
			s.fail(w, r, err)
			return
		default:
			ctx := context.WithValue(r.Context(), userKey, &u)
			ctx = context.WithValue(ctx, sessionKey, hash)
			if sess.ImpersonatorID.Valid {
				ctx = context.WithValue(ctx, impersonatorKey, &staff)
			}
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// startSession logs u in: a new session id replaces any previous one (rotation defeats fixation).
func (s *server) startSession(w http.ResponseWriter, r *http.Request, u store.User) error {
	return s.startSessionAs(w, r, u, nil)
}

// startSessionAs is startSession for a session in which staff act as u; staff nil is u's own session.
func (s *server) startSessionAs(w http.ResponseWriter, r *http.Request, u store.User, staff *store.User) error {
	secret, hash, err := auth.NewSecret()
	if err != nil {
		return err
	}
	sess := store.Session{
		IDHash: hash, UserID: u.ID, IP: clientIP(r), UserAgent: truncate(r.UserAgent(), 512),
		ExpiresAt: time.Now().Add(s.Settings.SessionLifetime),
	}
	if staff != nil {
		sess.ImpersonatorID.Int64, sess.ImpersonatorID.Valid = staff.ID, true
	}
	var old []byte
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		old = auth.HashSecret(c.Value)
	}
	if err := s.Store.CreateSession(r.Context(), sess, old); err != nil {
		return err
	}
	s.setCookie(w, sessionCookie, secret, s.Settings.SessionLifetime)
	// A new CSRF secret too, so a token seen before login is useless after it.
	s.newCSRFCookie(w)
	return nil
}

func (s *server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: s.Settings.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (s *server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.Settings.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// csrf protects every state-changing request with a token bound to a per-browser secret cookie:
// the form field "csrf" (or the X-CSRF-Token header) must carry HMAC(APP_KEY, secret). Requests
// from another origin are refused as well. A browser without the cookie gets a new secret, but
// the cookie is only sent with a page that shows the token (see issueCSRFCookie): an icon, a
// stylesheet or an error page answered at the same time must not replace the secret of the
// form the browser is about to submit.
func (s *server) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &csrfState{}
		if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
			st.secret = c.Value
		} else {
			st.secret, st.fresh = newCSRFSecret(), true
		}
		st.token = s.csrfToken(st.secret)
		r = r.WithContext(context.WithValue(r.Context(), csrfKey, st))
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		sent := r.Header.Get("X-CSRF-Token")
		if sent == "" {
			sent = r.PostFormValue("csrf")
		}
		if st.fresh || !s.sameOrigin(r) || !hmac.Equal([]byte(sent), []byte(st.token)) {
			s.Log.Warn("csrf check failed", "path", r.URL.Path, "ip", clientIP(r))
			s.renderError(w, r, http.StatusForbidden, "This form has expired", "Please go back, reload the page and try again.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// csrfState is the request's CSRF secret and token; fresh means the browser has no secret yet.
type csrfState struct {
	secret, token string
	fresh         bool
}

// issueCSRFCookie sends a browser that has no CSRF secret the one its page's token was made
// from, unless the handler already set a new one (a login rotates it).
func (s *server) issueCSRFCookie(w http.ResponseWriter, r *http.Request) {
	st, _ := r.Context().Value(csrfKey).(*csrfState)
	if st == nil || !st.fresh {
		return
	}
	for _, c := range w.Header().Values("Set-Cookie") {
		if strings.HasPrefix(c, csrfCookie+"=") {
			return
		}
	}
	s.setCSRFCookie(w, st.secret)
}

// newCSRFCookie sets a fresh per-browser secret and returns it.
func (s *server) newCSRFCookie(w http.ResponseWriter) string {
	secret := newCSRFSecret()
	s.setCSRFCookie(w, secret)
	return secret
}

func newCSRFSecret() string {
	secret, _, err := auth.NewSecret()
	if err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return secret
}

func (s *server) setCSRFCookie(w http.ResponseWriter, secret string) {
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: secret, Path: "/", HttpOnly: true,
		Secure: s.Settings.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (s *server) csrfToken(secret string) string {
	m := hmac.New(sha256.New, s.Settings.AppKey)
	m.Write([]byte("csrf:" + secret))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func csrfFromContext(r *http.Request) string {
	if st, _ := r.Context().Value(csrfKey).(*csrfState); st != nil {
		return st.token
	}
	return ""
}

// sameOrigin refuses cross-site POSTs by the Origin (or Referer) header when the browser sends one.
func (s *server) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		ref := r.Header.Get("Referer")
		if ref == "" {
			return origin == ""
		}
		origin = ref
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if u.Host == r.Host {
		return true
	}
	base, err := url.Parse(s.Settings.BaseURL)
	return err == nil && u.Host == base.Host
}

// clientIP is the peer address, or the client a trusted proxy named (realClient sets RemoteAddr
// then). An untrusted X-Forwarded-For is never read: rate limits must not be spoofable by a header.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// localPath returns p when it is a path on this site, else def: open redirects are refused.
// Browsers drop tabs and newlines from a Location and read a backslash as a slash, so
// "/\t/evil.example" or "/\\evil.example" would lead off the site: a path must start with a single
// slash and hold no control character or backslash, also once percent-decoded, and must not
// parse as a URL with a scheme or host.
func localPath(p, def string) string {
	if !localPathOK(p) {
		return def
	}
	if d, err := url.PathUnescape(p); err != nil || !localPathOK(d) {
		return def
	}
	if u, err := url.Parse(p); err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return def
	}
	return p
}

func localPathOK(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || !utf8.ValidString(p) {
		return false
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' || (c >= 0x80 && c < 0xa0) {
			return false
		}
	}
	return true
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
