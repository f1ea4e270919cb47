package mail

import (
	"strings"
	"testing"
)

func TestNewSMTPChoosesTransportSecurityFromTheURL(t *testing.T) {
	cases := []struct {
		url        string
		wantAddr   string
		wantPolicy string // go-mail's STARTTLS policy; implicit TLS reports its own
	}{
		{"smtp://127.0.0.1:2525", "127.0.0.1:2525", "NoTLS"},
		{"smtp://localhost:2525", "localhost:2525", "NoTLS"},
		{"smtp://[::1]:2525", "::1:2525", "NoTLS"},
		{"smtp://mail.example.com:587", "mail.example.com:587", "TLSMandatory"},
		{"smtp://mail.example.com", "mail.example.com:587", "TLSMandatory"},
		{"smtp://127.0.0.1:2525?tls=starttls", "127.0.0.1:2525", "TLSMandatory"},
		{"smtp://mail.example.com:25?tls=none", "mail.example.com:25", "NoTLS"},
		{"smtp://user:secret@127.0.0.1:2525", "127.0.0.1:2525", "NoTLS"},
		{"smtp://user:secret@mail.example.com:587?tls=starttls", "mail.example.com:587", "TLSMandatory"},
	}
	for _, c := range cases {
		s, err := NewSMTP(c.url, "billing@example.com")
		if err != nil {
			t.Errorf("NewSMTP(%q): %v", c.url, err)
			continue
		}
		cl, err := s.client()
		if err != nil {
			t.Fatalf("client for %q: %v", c.url, err)
		}
		if cl.ServerAddr() != c.wantAddr || cl.TLSPolicy() != c.wantPolicy {
			t.Errorf("NewSMTP(%q) dials %s with %s, want %s with %s", c.url, cl.ServerAddr(), cl.TLSPolicy(), c.wantAddr, c.wantPolicy)
		}
	}
}

func TestNewSMTPImplicitTLS(t *testing.T) {
	for _, u := range []string{"smtps://mail.example.com", "smtp://mail.example.com:465?tls=tls"} {
		s, err := NewSMTP(u, "")
		if err != nil {
			t.Fatalf("NewSMTP(%q): %v", u, err)
		}
		cl, err := s.client()
		if err != nil {
			t.Fatal(err)
		}
		if cl.ServerAddr() != "mail.example.com:465" {
			t.Errorf("NewSMTP(%q) dials %s, want mail.example.com:465", u, cl.ServerAddr())
		}
	}
}

func TestNewSMTPRejectsBadConfiguration(t *testing.T) {
	cases := []struct{ url, from, wantErr string }{
		{"http://mail.example.com", "", "scheme"},
		{"smtp://:25", "", "missing host"},
		{"smtp://mail.example.com?tls=maybe", "", "tls must be"},
		{"smtps://mail.example.com?tls=none", "", "implicit TLS"},
		{"smtp://mail.example.com:99999", "", "invalid port"},
		{"smtp://user:secret@mail.example.com:25?tls=none", "", "without TLS"},
		{"smtp://127.0.0.1:25", "not an address", "sender address"},
	}
	for _, c := range cases {
		_, err := NewSMTP(c.url, c.from)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("NewSMTP(%q, %q) error = %v, want one mentioning %q", c.url, c.from, err, c.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("NewSMTP(%q) error leaks the password: %v", c.url, err)
		}
	}
}
