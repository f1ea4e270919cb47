package httpapi_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/mail/sink"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestDevMailListsAttachmentsWithADownloadLink: a receipt's PDF caught by the dev mail sink is
// listed on the message's page in /dev/mail and downloads byte for byte.
func TestDevMailListsAttachmentsWithADownloadLink(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	pdf := []byte("%PDF-1.7\n% receipt\n\x00\x01\x02binary\n%%EOF\n")
	if err := st.Mail.Send(ctx, mail.Message{To: "payer@example.com", Subject: "Receipt for invoice 1001", Text: "Thank you.",
		Attachments: []mail.Attachment{{Name: "receipt-1001.pdf", ContentType: "application/pdf", Data: pdf}}}); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := st.Sink.Wait(wait, func(m sink.Message) bool { return m.Subject == "Receipt for invoice 1001" })
	if err != nil {
		t.Fatal(err)
	}

	createUser(t, st, "dev@example.com", "password 12345", store.RoleAdmin)
	b := newBrowser(t, st)
	b.login("dev@example.com", "password 12345")
	page := b.get("/dev/mail/" + itoa(int64(m.ID)))
	if page.Status != http.StatusOK {
		t.Fatalf("message page: status %d", page.Status)
	}
	link := regexp.MustCompile(`<a href="([^"]+)"[^>]*data-testid="mail-attachment-link">receipt-1001.pdf</a>`).FindStringSubmatch(page.Body)
	if link == nil {
		t.Fatalf("the message page does not list receipt-1001.pdf with a download link:\n%s", page.Body)
	}
	got := b.get(link[1])
	if got.Status != http.StatusOK || got.Body != string(pdf) {
		t.Fatalf("download: status %d, %d bytes; want 200 and the %d bytes sent", got.Status, len(got.Body), len(pdf))
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("download Content-Type %q, want application/pdf", ct)
	}
	if cd := got.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, "receipt-1001.pdf") {
		t.Errorf("download Content-Disposition %q, want an attachment named receipt-1001.pdf", cd)
	}
	if r := b.get("/dev/mail/" + itoa(int64(m.ID)) + "/attachments/1"); r.Status != http.StatusNotFound {
		t.Errorf("an attachment that does not exist: status %d, want 404", r.Status)
	}
}
