package mail

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"time"
)

// linkLine finds a link standing alone on its line, as people and tests copy it from the text body.
var linkLine = regexp.MustCompile(`(?m)^(https?://\S+)$`)

func TestLinkMessagesCarryTheLinkVerbatimInBothBodies(t *testing.T) {
	link := "https://portal.example.com/verify?token=Zm9v-YmFy_" + strings.Repeat("x", 43) + "&next=%2Faccount"
	cases := []struct {
		name    string
		msg     Message
		subject string
		wording string
	}{
		{"verification", Verification("alice@example.com", "Alice", link), "Confirm your email address", "Confirm email address"},
		{"reminder", VerificationReminder("alice@example.com", "Alice", link), "Reminder: confirm your email address", "not confirmed yet"},
		{"reset", PasswordReset("alice@example.com", "Alice", link, time.Hour), "Reset your password", "expires in 1 hour"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.msg
			if m.To != "alice@example.com" || m.Subject != c.subject || m.From != "" {
				t.Fatalf("To/Subject/From = %q/%q/%q, want alice@example.com/%q/empty", m.To, m.Subject, m.From, c.subject)
			}
			got := linkLine.FindAllStringSubmatch(m.Text, -1)
			if len(got) != 1 || got[0][1] != link {
				t.Fatalf("links on their own line in the text body = %q, want exactly [%q]\n%s", got, link, m.Text)
			}
			if !strings.Contains(m.HTML, `href="`+html.EscapeString(link)+`"`) {
				t.Errorf("HTML body has no href to the link %q:\n%s", link, m.HTML)
			}
			for body, s := range map[string]string{"text": m.Text, "HTML": m.HTML} {
				if !strings.Contains(s, Brand) || !strings.Contains(s, "Hello Alice,") {
					t.Errorf("%s body lacks the brand %q or the greeting:\n%s", body, Brand, s)
				}
			}
			if !strings.Contains(m.Text, c.wording) && !strings.Contains(m.HTML, c.wording) {
				t.Errorf("message lacks %q", c.wording)
			}
		})
	}
}

func TestPasswordChangedIsASecurityNoticeWithoutLinks(t *testing.T) {
	m := PasswordChanged("bob@example.com", "")
	if m.Subject != "Your password was changed" {
		t.Errorf("subject = %q", m.Subject)
	}
	if !strings.HasPrefix(m.Text, "Hello,\n") {
		t.Errorf("text body without a name should greet with \"Hello,\", starts %q", m.Text[:min(20, len(m.Text))])
	}
	for _, s := range []string{m.Text, m.HTML} {
		if !strings.Contains(s, "did not") || !strings.Contains(s, "reset your password") || !strings.Contains(s, Brand) {
			t.Errorf("security notice should tell what to do if the change was not yours:\n%s", s)
		}
	}
	if linkLine.MatchString(m.Text) {
		t.Errorf("security notice should carry no link (phishing habit), text:\n%s", m.Text)
	}
}

func TestHTMLBodyEscapesTheCustomerName(t *testing.T) {
	m := Verification("eve@example.com", `<script>alert(1)</script>`, "https://portal.example.com/verify?token=t")
	if strings.Contains(m.HTML, "<script>") {
		t.Fatalf("customer name was inserted unescaped into the HTML body:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, "&lt;script&gt;") {
		t.Fatalf("escaped name missing from the HTML body:\n%s", m.HTML)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour:                  "1 hour",
		2 * time.Hour:              "2 hours",
		48 * time.Hour:             "48 hours",
		7 * 24 * time.Hour:         "7 days",
		30 * time.Minute:           "30 minutes",
		time.Minute:                "1 minute",
		90 * time.Minute:           "90 minutes",
		10 * time.Second:           "1 minute",
		time.Hour + 30*time.Second: "61 minutes",
		72*time.Hour + time.Minute: "4321 minutes",
		0:                          "1 minute",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestServiceReadyCarriesAccessDetailsAndEscapesThem(t *testing.T) {
	m := ServiceReady("c@example.com", "Cara", "https://billing.example.com/account/services/7", ServiceAccess{
		Product: "VPS 2 GB", Hostname: "web<1>.example.com", IPv4: []string{"203.0.113.7"}, Username: "root", Password: "s3cret",
	})
	if m.Subject != "Your VPS 2 GB is ready" {
		t.Fatalf("subject %q", m.Subject)
	}
	for _, want := range []string{"203.0.113.7", "root", "s3cret", "https://billing.example.com/account/services/7", "web<1>.example.com"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.HTML, "web<1>") || !strings.Contains(m.HTML, "web&lt;1&gt;") {
		t.Error("HTML body does not escape the hostname")
	}
}

func TestInvoiceMailsAttachThePDFAndSayWhy(t *testing.T) {
	pdf := []byte("%PDF-1.4 test")
	link := "https://portal.example.com/account/invoices/7"
	cases := map[string]struct{ subject, wording string }{
		"new":       {"Invoice INV-1007", "is ready and due on 2026-12-01. We will charge your saved payment method"},
		"reminder":  {"Reminder: invoice INV-1007 is due soon", "A reminder: invoice INV-1007"},
		"overdue":   {"Invoice INV-1007 is overdue", "was due on 2026-12-01 and is still unpaid"},
		"suspended": {"Service suspended: invoice INV-1007 is overdue", "is suspended"},
		"receipt":   {"Payment received for invoice INV-1007", "we received your payment of USD 12.50"},
	}
	for kind, c := range cases {
		t.Run(kind, func(t *testing.T) {
			m := Invoice("bob@example.com", "Bob", link, InvoiceNotice{Kind: kind, Number: "INV-1007", Total: "USD 12.50",
				Due: "2026-12-01", AutoCharge: true, Note: "Attempt 1 failed."}, pdf)
			if m.Subject != c.subject {
				t.Fatalf("subject = %q, want %q", m.Subject, c.subject)
			}
			if !strings.Contains(m.Text, c.wording) || !strings.Contains(m.Text, "Attempt 1 failed.") {
				t.Fatalf("text body lacks %q or the note:\n%s", c.wording, m.Text)
			}
			if got := linkLine.FindAllStringSubmatch(m.Text, -1); len(got) != 1 || got[0][1] != link {
				t.Fatalf("links = %q", got)
			}
			if len(m.Attachments) != 1 || m.Attachments[0].Name != "INV-1007.pdf" || m.Attachments[0].ContentType != "application/pdf" ||
				string(m.Attachments[0].Data) != string(pdf) {
				t.Fatalf("attachments = %+v", m.Attachments)
			}
			if !strings.Contains(m.HTML, "INV-1007") || !strings.Contains(m.HTML, `href="`+link+`"`) {
				t.Fatalf("HTML body:\n%s", m.HTML)
			}
		})
	}
}

func TestServiceTerminatedNamesTheServiceAndEscapesIt(t *testing.T) {
	m := ServiceTerminated("c@example.com", "Cara", "https://billing.example.com/account/services/7", ServiceAccess{
		Product: "VPS 2 GB", Hostname: "web<1>.example.com",
	})
	if m.Subject != "Your VPS 2 GB has been terminated" {
		t.Fatalf("subject %q", m.Subject)
	}
	for _, want := range []string{"VPS 2 GB", "web<1>.example.com", "terminated", "https://billing.example.com/account/services/7"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.HTML, "web<1>") || !strings.Contains(m.HTML, "web&lt;1&gt;") {
		t.Error("HTML body does not escape the hostname")
	}
}
