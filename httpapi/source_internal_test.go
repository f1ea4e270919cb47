package httpapi

import (
	"net/http/httptest"
	"testing"
)

// TestSourceGroupsIPv6ClientsByTheirSlash64: one IPv6 subscriber holds a whole /64, so every
// address in it is one source for throttling; IPv4 (also written IPv4-mapped) is the address.
func TestSourceGroupsIPv6ClientsByTheirSlash64(t *testing.T) {
	for _, tc := range []struct{ remote, want string }{
		{"192.0.2.7:51000", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:51000", "192.0.2.7"},
		{"[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff:ffff:ffff:ffff]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:3::1]:443", "2001:db8:1:3::/64"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if got := source(r); got != tc.want {
			t.Errorf("source of %s = %q; want %q", tc.remote, got, tc.want)
		}
	}
}
