package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

// Brand is the name customers see in every email.
const Brand = "EZSCALE Hosting"

//go:embed templates/*.tmpl
var templateFS embed.FS

// view is the data every template receives.
type view struct {
	Brand   string
	Subject string
	Name    string
	Link    string
	TTL     string
	Service ServiceAccess
	Invoice InvoiceNotice
}

// InvoiceNotice is what an invoice mail says: which invoice, for how much, when due, and why it
// is sent (Kind: "new", "reminder", "overdue", "suspended" or "receipt").
type InvoiceNotice struct {
	Kind       string
	Number     string
	Total      string // formatted, e.g. "USD 12.50"
	Due        string // date, e.g. "2026-12-01"
	AutoCharge bool   // a saved payment method will be charged on the due date
	Note       string
}

// invoiceSubjects are the subject lines of the invoice mails by kind; %s is the invoice number.
var invoiceSubjects = map[string]string{
	"new":       "Invoice %s",
	"reminder":  "Reminder: invoice %s is due soon",
	"overdue":   "Invoice %s is overdue",
	"suspended": "Service suspended: invoice %s is overdue",
	"receipt":   "Payment received for invoice %s",
}

// Invoice is a mail about an invoice, with the invoice's PDF attached.
func Invoice(to, name, link string, n InvoiceNotice, pdf []byte) Message {
	subject, ok := invoiceSubjects[n.Kind]
	if !ok {
		subject = "Invoice %s"
	}
	m := render("invoice", to, view{Subject: fmt.Sprintf(subject, n.Number), Name: name, Link: link, Invoice: n})
	m.Attachments = []Attachment{{Name: n.Number + ".pdf", ContentType: "application/pdf", Data: pdf}}
	return m
}

// ServiceAccess is what a customer needs to reach a new service.
type ServiceAccess struct {
	Product  string
	Hostname string
	IPv4     []string
	Username string
	Password string // empty when the panel mails it itself or there is none
}

// ServiceReady tells the customer their service is provisioned, with its access details and a
// link to manage it in the portal.
func ServiceReady(to, name, link string, a ServiceAccess) Message {
	return render("service_ready", to, view{Subject: "Your " + a.Product + " is ready", Name: name, Link: link, Service: a})
}

// ServiceTerminated tells the customer their service was terminated and its data removed, with
// a link to its record in the portal. Only Product and Hostname of a are used.
func ServiceTerminated(to, name, link string, a ServiceAccess) Message {
	return render("service_terminated", to, view{Subject: "Your " + a.Product + " has been terminated", Name: name, Link: link, Service: a})
}

// Verification asks a new customer to confirm their address by opening link.
func Verification(to, name, link string) Message {
	return render("verification", to, view{Subject: "Confirm your email address", Name: name, Link: link})
}

// VerificationReminder repeats the confirmation request, with a fresh link, to a customer who
// has not confirmed yet.
func VerificationReminder(to, name, link string) Message {
	return render("verification_reminder", to, view{Subject: "Reminder: confirm your email address", Name: name, Link: link})
}

// PasswordReset sends a one-time link to choose a new password, valid for ttl.
func PasswordReset(to, name, link string, ttl time.Duration) Message {
	return render("password_reset", to, view{Subject: "Reset your password", Name: name, Link: link, TTL: humanDuration(ttl)})
}

// PasswordChanged tells the customer their password changed, so an unexpected change is noticed.
func PasswordChanged(to, name string) Message {
	return render("password_changed", to, view{Subject: "Your password was changed", Name: name})
}

// render executes the text and HTML templates of one message. The templates are embedded and
// every message is covered by tests, so a failure here is a programming error and panics.
func render(name, to string, v view) Message {
	v.Brand = Brand
	text, err := renderText(name, v)
	if err != nil {
		panic(err)
	}
	html, err := renderHTML(name, v)
	if err != nil {
		panic(err)
	}
	return Message{To: to, Subject: v.Subject, Text: text, HTML: html}
}

func renderText(name string, v view) (string, error) {
	t, err := texttemplate.ParseFS(templateFS, "templates/layout.txt.tmpl", "templates/"+name+".txt.tmpl")
	if err != nil {
		return "", fmt.Errorf("parse text template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		return "", fmt.Errorf("render text template %s: %w", name, err)
	}
	return strings.TrimLeft(b.String(), "\n"), nil
}

func renderHTML(name string, v view) (string, error) {
	t, err := htmltemplate.ParseFS(templateFS, "templates/layout.html.tmpl", "templates/"+name+".html.tmpl")
	if err != nil {
		return "", fmt.Errorf("parse HTML template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		return "", fmt.Errorf("render HTML template %s: %w", name, err)
	}
	return b.String(), nil
}

// humanDuration writes d the way a person would: "48 hours", "30 minutes", "7 days".
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d >= 72*time.Hour && d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	default:
		return plural(max(1, int64((d+time.Minute-1)/time.Minute)), "minute")
	}
}
