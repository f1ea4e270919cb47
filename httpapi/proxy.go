package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// realClient makes r.RemoteAddr the client's address when the request came through a trusted
// reverse proxy (Settings.TrustedProxies): X-Forwarded-For is read from the right, skipping the
// trusted proxies' own entries, and the first other address is the client. Anything left of it
// was written by the client and is ignored, so the header cannot be used to pose as another
// address. From an untrusted peer the header is ignored altogether. Throttles, sessions, the
// login history and the audit log all see the address chosen here.
func (s *server) realClient(next http.Handler) http.Handler {
	if len(s.Settings.TrustedProxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if client, ok := s.forwardedClient(r); ok {
			r = r.WithContext(r.Context()) // a shallow copy: the caller's request stays as it was
			r.RemoteAddr = net.JoinHostPort(client.String(), "0")
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedClient returns the client named by a trusted proxy's X-Forwarded-For, if any.
func (s *server) forwardedClient(r *http.Request) (netip.Addr, bool) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !s.trustedProxy(peer.Addr().Unmap()) {
		return netip.Addr{}, false
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false // garbage: keep the proxy's own address
		}
		a = a.Unmap()
		if !s.trustedProxy(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func (s *server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.Settings.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
