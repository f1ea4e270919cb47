package httpapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ezscale/billing/store"
)

// Password checks (login, the current-password check on /account/password) are throttled per
// account together with where the try comes from, never per account alone, so a stranger's wrong
// guesses slow the stranger down and not the owner:
//
//   - An anonymous browser is keyed by (account, source address). After loginBackoff.Tries
//     wrong passwords in a row that source waits loginBackoff.Base, doubling with each further
//     wrong password up to loginBackoff.Max, and is answered 429 with Retry-After meanwhile.
//   - When the account as a whole has collected loginUnderAttack wrong passwords from all
//     sources, each anonymous source gets only loginTriesUnderAttack free tries before it waits:
//     the account is slowed down, but the owner's first try from a clean address still goes through.
//   - A browser holding a known-device cookie for the account (set after a successful login
//     there) is keyed by (account, device) instead, with its own budget, so attacks from any
//     number of addresses never delay it.
//   - Every source also has a fixed budget of loginPerIP tries per loginWindow over all accounts.
//
// The right password clears its own key; a completed password reset clears every key of the
// account.
var (
	loginBackoff  = store.Backoff{Tries: 5, Base: 30 * time.Second, Max: 15 * time.Minute, Forget: time.Hour}
	deviceBackoff = store.Backoff{Tries: 5, Base: 30 * time.Second, Max: 15 * time.Minute, Forget: time.Hour}
	// accountCount never waits: it only counts an account's wrong passwords from every source.
	accountCount = store.Backoff{Forget: time.Hour}
	// resetBackoff is the silent budget of reset mails per (account, source) and per (account, device).
	resetBackoff = store.Backoff{Tries: 3, Base: time.Hour, Max: time.Hour, Forget: time.Hour}
	// resetAccountBackoff is the silent budget of reset mails per account from anonymous sources.
	resetAccountBackoff = store.Backoff{Tries: 10, Base: time.Hour, Max: time.Hour, Forget: time.Hour}
)

const (
	loginUnderAttack      = 20
	loginTriesUnderAttack = 2

	// Sign-ups: per source address and per e-mail address, in fixed windows.
	registerWindow   = time.Hour
	registerPerIP    = 5
	registerPerEmail = 3

	deviceCookie   = "ezscale_device"
	deviceLifetime = 365 * 24 * time.Hour
)

// source names where a request comes from for throttling: the client's IPv4 address, or the /64
// an IPv6 client's address is in (one subscriber usually holds a whole /64).
func source(r *http.Request) string {
	ip := clientIP(r)
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// device is a browser a user has logged in from before.
type device struct {
	userID int64
	id     string
}

// knownDevice returns the request's known-device cookie when it is genuine and names userID.
func (s *server) knownDevice(r *http.Request, userID int64) (device, bool) {
	c, err := r.Cookie(deviceCookie)
	if err != nil {
		return device{}, false
	}
	uid, rest, ok := strings.Cut(c.Value, ".")
	id, mac, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return device{}, false
	}
	n, err := strconv.ParseInt(uid, 10, 64)
	if err != nil || n != userID || !hmac.Equal([]byte(mac), []byte(s.deviceMAC(n, id))) {
		return device{}, false
	}
	return device{userID: n, id: id}, true
}

// rememberDevice sets (or renews) the known-device cookie after the right password: a long-lived,
// signed value naming the user and a random device id. It is no credential; it only puts the
// browser's later password checks in a throttle of their own.
func (s *server) rememberDevice(w http.ResponseWriter, r *http.Request, userID int64) {
	d, ok := s.knownDevice(r, userID)
	if !ok {
		b := make([]byte, 16)
		_, _ = rand.Read(b) // crypto/rand never fails on Linux
		d = device{userID: userID, id: hex.EncodeToString(b)}
	}
	v := strconv.FormatInt(d.userID, 10) + "." + d.id + "." + s.deviceMAC(d.userID, d.id)
	s.setCookie(w, deviceCookie, v, deviceLifetime)
}

func (s *server) deviceMAC(userID int64, id string) string {
	m := hmac.New(sha256.New, s.Settings.AppKey)
	fmt.Fprintf(m, "device:%d:%s", userID, id)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// passwordTry is one throttled password check of an account.
type passwordTry struct {
	key    string // the (account, source) or (account, device) throttle
	email  string
	device bool
}

// takePasswordTry counts a password check of the account with e-mail address email (userID 0:
// no such account) against the throttle login uses. It returns the try, or how long the caller
// must wait first.
func (s *server) takePasswordTry(r *http.Request, email string, userID int64) (passwordTry, time.Duration, error) {
	ctx := r.Context()
	if userID != 0 {
		if d, ok := s.knownDevice(r, userID); ok {
			t := passwordTry{key: "login:dev:" + strconv.FormatInt(userID, 10) + ":" + d.id, email: email, device: true}
			wait, err := s.Store.TakeTry(ctx, t.key, email, deviceBackoff)
			return t, wait, err
		}
	}
	b := loginBackoff
	n, err := s.Store.Tries(ctx, "login:acct:"+email, accountCount.Forget)
	if err != nil {
		return passwordTry{}, 0, err
	}
	if n >= loginUnderAttack {
		b.Tries = loginTriesUnderAttack
	}
	t := passwordTry{key: "login:src:" + email + "|" + source(r), email: email}
	wait, err := s.Store.TakeTry(ctx, t.key, email, b)
	return t, wait, err
}

// passwordRight clears the try's throttle; the account-wide count stays, since it is evidence of
// an attack the owner's success does not end.
func (s *server) passwordRight(r *http.Request, t passwordTry) {
	if err := s.Store.ClearThrottle(r.Context(), t.key); err != nil {
		s.Log.Error("clear password throttle", "err", err)
	}
}

// passwordWrong adds the failure to the account-wide count (the try itself is already counted).
func (s *server) passwordWrong(r *http.Request, t passwordTry) {
	if _, err := s.Store.TakeTry(r.Context(), "login:acct:"+t.email, t.email, accountCount); err != nil {
		s.Log.Error("count wrong password", "err", err)
	}
}

// tooMany answers 429 with Retry-After and a page saying how long to wait.
func (s *server) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration, title, msg string) {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.renderError(w, r, http.StatusTooManyRequests, title, msg+" Please try again in "+humanWait(secs)+".")
}

// humanWait says secs in words: "40 seconds", "1 minute", "15 minutes".
func humanWait(secs int) string {
	switch {
	case secs == 1:
		return "1 second"
	case secs < 90:
		return strconv.Itoa(secs) + " seconds"
	case secs < 90*60:
		m := (secs + 59) / 60
		return strconv.Itoa(m) + " minutes"
	}
	h := (secs + 3599) / 3600
	if h == 1 {
		return "1 hour"
	}
	return strconv.Itoa(h) + " hours"
}
