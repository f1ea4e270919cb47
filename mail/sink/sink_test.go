package sink_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/smtp"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/mail/sink"
)

func start(t *testing.T) (*sink.Sink, *mail.SMTP) {
	t.Helper()
	box, err := sink.Start(slog.New(slog.NewTextHandler(io.Discard, nil)), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := box.Close(); err != nil {
			t.Errorf("close sink: %v", err)
		}
	})
	if !strings.HasPrefix(box.URL(), "smtp://127.0.0.1:") || !strings.HasSuffix(box.URL(), "?tls=none") {
		t.Fatalf("URL() = %q, want smtp://127.0.0.1:PORT?tls=none", box.URL())
	}
	sender, err := mail.NewSMTP(box.URL(), "EZSCALE Hosting <noreply@ezscale.test>")
	if err != nil {
		t.Fatal(err)
	}
	return box, sender
}

func send(t *testing.T, s *mail.SMTP, m mail.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Send(ctx, m); err != nil {
		t.Fatalf("send %q: %v", m.Subject, err)
	}
}

func TestSinkDecodesTextHTMLAndAttachmentSentOverSMTP(t *testing.T) {
	box, sender := start(t)
	link := "https://portal.ezscale.test/verify?token=" + strings.Repeat("AbC-_9", 30) + "&next=%2Faccount%2Fservices"
	pdf := append([]byte("%PDF-1.7\n"), 0x00, 0xff, 0x80, 0x0d, 0x0a, 0x1b)
	send(t, sender, mail.Message{
		To:          "alice@example.com",
		Subject:     "Café ✓",
		Text:        "Hello Alice,\n\nOpen this link:\n\n" + link + "\n\nThanks — EZSCALE\n",
		HTML:        `<p>Hello Alice, <a href="` + link + `">confirm</a> — café</p>`,
		Attachments: []mail.Attachment{{Name: "invoice-1001.pdf", ContentType: "application/pdf", Data: pdf}},
	})

	msgs := box.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sink holds %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.ID != 1 || m.Subject != "Café ✓" || m.From != `"EZSCALE Hosting" <noreply@ezscale.test>` {
		t.Errorf("ID/Subject/From = %d/%q/%q, want 1/%q/the configured sender", m.ID, m.Subject, m.From, "Café ✓")
	}
	if len(m.To) != 1 || m.To[0] != "alice@example.com" {
		t.Errorf("To = %q, want [alice@example.com]", m.To)
	}
	if got := regexp.MustCompile(`(?m)^https://\S+$`).FindString(m.Text); got != link {
		t.Errorf("link line in decoded text = %q, want %q\ntext:\n%s", got, link, m.Text)
	}
	if !strings.Contains(m.Text, "Thanks — EZSCALE") {
		t.Errorf("decoded text lost its non-ASCII characters:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, `href="`+link+`"`) || !strings.Contains(m.HTML, "— café") {
		t.Errorf("decoded HTML lacks the link or the non-ASCII text:\n%s", m.HTML)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Name != "invoice-1001.pdf" ||
		m.Attachments[0].ContentType != "application/pdf" || !bytes.Equal(m.Attachments[0].Data, pdf) {
		t.Errorf("attachments = %+v, want invoice-1001.pdf application/pdf with %d bytes %x", m.Attachments, len(pdf), pdf)
	}
	if time.Since(m.Received) > time.Minute || m.Received.After(time.Now()) {
		t.Errorf("Received = %v, want just now", m.Received)
	}
	// The decoding is what is under test: the raw message must really be encoded and nested.
	raw := string(m.Raw)
	for _, want := range []string{"multipart/mixed", "multipart/alternative", "quoted-printable", "base64", "Message-ID: <", "Date: "} {
		if !strings.Contains(raw, want) {
			t.Errorf("raw message lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(raw, link) || strings.Contains(raw, "Café") {
		t.Errorf("raw message carries the long link or subject unencoded, so decoding went untested:\n%s", raw)
	}
	if got, ok := box.Message(m.ID); !ok || got.Subject != m.Subject {
		t.Errorf("Message(%d) = %q, %v; want the same message", m.ID, got.Subject, ok)
	}
	if _, ok := box.Message(m.ID + 1); ok {
		t.Errorf("Message(%d) found a message that was never sent", m.ID+1)
	}
}

// A hand-written message covers encodings go-mail does not produce: a base64 text body, an
// encoded-word From, and an alternative nested in a related part inside mixed.
func TestSinkDecodesBase64BodiesAndDeepNesting(t *testing.T) {
	box, _ := start(t)
	raw := strings.ReplaceAll(`From: =?utf-8?q?Z=C3=BCrich_Billing?= <billing@example.ch>
To: ops@example.com
Subject: =?utf-8?b?UmVjaG51bmcg4oCTIETDvHNzZWxkb3Jm?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/related; boundary="mid"

--mid
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

R3LDvGV6aSBtaXRlbmFuZGVyIQpodHRwczovL2V4YW1wbGUuY29tL2E/Yj1j
JmQ9ZQ==
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>Gr=C3=BCezi</p>
--inner--
--mid--
--outer
Content-Type: text/plain; name="notes.txt"
Content-Disposition: attachment; filename="notes.txt"

plain attachment
--outer--
`, "\n", "\r\n")
	if err := smtp.SendMail(box.Addr(), nil, "billing@example.ch", []string{"ops@example.com", "audit@example.com"}, []byte(raw)); err != nil {
		t.Fatalf("send hand-written message: %v", err)
	}
	m := box.Messages()[0]
	if m.From != "Zürich Billing <billing@example.ch>" || m.Subject != "Rechnung – Düsseldorf" {
		t.Errorf("From/Subject = %q/%q, want decoded encoded-words", m.From, m.Subject)
	}
	if m.Text != "Grüezi mitenander!\nhttps://example.com/a?b=c&d=e" {
		t.Errorf("base64 text body = %q", m.Text)
	}
	if m.HTML != "<p>Grüezi</p>" {
		t.Errorf("quoted-printable HTML body = %q", m.HTML)
	}
	if len(m.To) != 2 || m.To[1] != "audit@example.com" {
		t.Errorf("envelope recipients = %q", m.To)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Name != "notes.txt" || string(m.Attachments[0].Data) != "plain attachment" {
		t.Errorf("a text/plain attachment must not become the body; attachments = %+v", m.Attachments)
	}
}

func TestWaitReturnsAMessageThatArrivesLater(t *testing.T) {
	box, sender := start(t)
	send(t, sender, mail.Message{To: "a@example.com", Subject: "first", Text: "1"})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := box.Wait(ctx, func(m sink.Message) bool { return m.Subject == "first" })
	if err != nil || got.ID != 1 {
		t.Fatalf("Wait for an already received message = #%d, %v; want #1", got.ID, err)
	}

	type result struct {
		m   sink.Message
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := box.Wait(ctx, func(m sink.Message) bool { return m.Subject == "second" })
		done <- result{m, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("Wait returned before the message was sent: #%d %q, %v", r.m.ID, r.m.Subject, r.err)
	case <-time.After(100 * time.Millisecond):
	}
	send(t, sender, mail.Message{To: "b@example.com", Subject: "unrelated", Text: "x"})
	send(t, sender, mail.Message{To: "b@example.com", Subject: "second", Text: "2"})
	r := <-done
	if r.err != nil || r.m.ID != 3 || r.m.Subject != "second" || r.m.To[0] != "b@example.com" {
		t.Fatalf("Wait = #%d %q to %q, %v; want #3 \"second\" to b@example.com", r.m.ID, r.m.Subject, r.m.To, r.err)
	}

	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	if _, err := box.Wait(short, func(sink.Message) bool { return false }); err == nil {
		t.Fatal("Wait for a message that never comes returned no error after its context ended")
	}
}

func TestSinkKeepsOnlyTheNewestMessages(t *testing.T) {
	box, sender := start(t)
	total := sink.Capacity + 2
	for i := 1; i <= total; i++ {
		send(t, sender, mail.Message{To: "bulk@example.com", Subject: fmt.Sprintf("n%d", i), Text: "x"})
	}
	msgs := box.Messages()
	if len(msgs) != sink.Capacity {
		t.Fatalf("sink holds %d messages after %d were sent, want %d", len(msgs), total, sink.Capacity)
	}
	if msgs[0].ID != total || msgs[0].Subject != fmt.Sprintf("n%d", total) {
		t.Errorf("newest = #%d %q, want #%d first", msgs[0].ID, msgs[0].Subject, total)
	}
	if last := msgs[len(msgs)-1]; last.ID != 3 {
		t.Errorf("oldest kept = #%d, want #3 (#1 and #2 dropped)", last.ID)
	}
	for _, id := range []int{1, 2} {
		if _, ok := box.Message(id); ok {
			t.Errorf("message #%d should have been dropped", id)
		}
	}
}
