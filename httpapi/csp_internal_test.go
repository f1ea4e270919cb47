package httpapi

import (
	"strings"
	"testing"
)

// TestFormActionNamesOnlyBareOrigins: what widens form-action comes from configuration (panel
// URLs, gateway settings); anything but a bare http(s) origin is left out, so a bad value cannot
// end the directive or add a source.
func TestFormActionNamesOnlyBareOrigins(t *testing.T) {
	csp := contentSecurityPolicy([]string{"https://checkout.stripe.com", "http://127.0.0.1:8081", "http://[::1]:9000",
		"https://x.example; script-src *", "https://a.example https://b.example", "javascript:alert(1)", "https://", "", "*"})
	const want = "form-action 'self' https://checkout.stripe.com http://127.0.0.1:8081 http://[::1]:9000; "
	if !strings.Contains(csp, want) {
		t.Fatalf("policy %q\nwant it to contain %q", csp, want)
	}
	if strings.Count(csp, "script-src") != 1 {
		t.Fatalf("policy %q gained a script-src", csp)
	}
}
