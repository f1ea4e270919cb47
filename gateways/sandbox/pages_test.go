package sandbox

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// get fetches rawURL without following redirects, returning the answer and its body.
func (e *env) get(rawURL string) (*http.Response, string) {
	e.t.Helper()
	resp, err := e.client.Get(rawURL)
	if err != nil {
		e.t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read %s: %v", rawURL, err)
	}
	return resp, string(b)
}

func TestHostedPagesHaveNoInlineStyleOrScriptAndLinkTheServedStylesheet(t *testing.T) {
	e := newEnv(t)
	_, co := e.checkout()
	_, _, withError := e.do(http.MethodPost, co.URL, url.Values{"number": {"4111 1111 1111 1111"}, "expiry": {"12/30"}, "cvc": {"123"}})
	e.payWith(co.URL, cardAuthenticate)
	resp, authenticate := e.get(co.URL + "/authenticate")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the authentication step: status %d, want 200", resp.StatusCode)
	}
	_, missing := e.get(e.srv.URL + "/sandbox/checkout/cs_sb_nope")
	resp, checkout := e.get(co.URL)

	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "style-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("page Content-Security-Policy %q, want style-src 'self' and nothing unsafe-inline", csp)
	}
	link := regexp.MustCompile(`<link rel="stylesheet" href="(/sandbox/static/sandbox\.css\?v=[0-9a-f]+)">`)
	var href string
	for name, body := range map[string]string{"checkout": checkout, "checkout with an error": withError,
		"authenticate": authenticate, "missing": missing} {
		for _, banned := range []string{"<style", "style=", "<script", "javascript:"} {
			if strings.Contains(strings.ToLower(body), banned) {
				t.Errorf("%s page contains %q, which the app's CSP forbids", name, banned)
			}
		}
		m := link.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("%s page does not link the stylesheet; body:\n%s", name, body)
		}
		href = m[1]
	}

	resp, css := e.get(e.srv.URL + href)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("GET %s: status %d Content-Type %q, want 200 text/css", href, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if css != string(stylesheetCSS) || !strings.Contains(css, ".card{") || !strings.Contains(css, ".error{") {
		t.Fatalf("GET %s served %d bytes, want the embedded stylesheet (%d bytes) with .card and .error rules", href, len(css), len(stylesheetCSS))
	}
	if bytes.Contains(stylesheetCSS, []byte("<")) {
		t.Errorf("the stylesheet contains markup")
	}
}
