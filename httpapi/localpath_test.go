package httpapi

import "testing"

// TestLocalPathRefusesOpenRedirects: every payload that a browser would follow off the site
// falls back to the default; paths on the site pass unchanged.
func TestLocalPathRefusesOpenRedirects(t *testing.T) {
	attacks := []string{
		"",
		"/\t/evil.example/",   // what /%09/evil.example/ decodes to; browsers drop the tab
		"/\n/evil.example/",   // likewise newlines
		"/\r\n/evil.example/", //
		"/\x00/evil.example/",
		"/\x7f/evil.example/",
		"/\u0085/evil.example/", // a C1 control
		"//evil.example/",
		"///evil.example/",
		"/\\evil.example/",
		"\\/evil.example/",
		"/\\/evil.example/",
		"/a\\b",
		"\\\\evil.example",
		"/%2F/evil.example/",  // decodes to ///evil.example/
		"/%2f%2fevil.example", // lower case
		"/%5Cevil.example",    // decodes to /\evil.example
		"/%09/evil.example/",  // double-encoded tab
		"/%00",
		"/%ZZ", // undecodable
		"https://evil.example/",
		"http:evil.example",
		"//@evil.example",
		"javascript:alert(1)",
		"evil.example",
		" /account",
		"\t/account",
		"/account\xff", // invalid UTF-8
	}
	for _, p := range attacks {
		if got := localPath(p, "/fallback"); got != "/fallback" {
			t.Errorf("localPath(%q) = %q; want the fallback", p, got)
		}
	}
	for _, p := range []string{"/", "/account", "/account/invoices?page=2", "/order/3#plan", "/admin/customers?q=a%20b", "/a/b/../c", "/@me"} {
		if got := localPath(p, "/fallback"); got != p {
			t.Errorf("localPath(%q) = %q; want it unchanged", p, got)
		}
	}
}
