package mail_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/mail/sink"
)

func startSink(t *testing.T) *sink.Sink {
	t.Helper()
	s, err := sink.Start(slog.New(slog.NewTextHandler(io.Discard, nil)), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestSendUsesConfiguredSenderWhenMessageHasNone(t *testing.T) {
	box := startSink(t)
	s, err := mail.NewSMTP(box.URL(), "EZSCALE Hosting <noreply@ezscale.test>")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Send(ctx, mail.PasswordChanged("bob@example.com", "Bob")); err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := s.Send(ctx, mail.Message{From: "support@ezscale.test", To: "bob@example.com", Subject: "Own sender", Text: "hi"}); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := box.Messages()
	if len(got) != 2 {
		t.Fatalf("sink holds %d messages, want 2", len(got))
	}
	if got[1].From != `"EZSCALE Hosting" <noreply@ezscale.test>` {
		t.Errorf("From without Message.From = %q, want the configured sender", got[1].From)
	}
	if got[0].From != "<support@ezscale.test>" {
		t.Errorf("From with Message.From = %q, want <support@ezscale.test>", got[0].From)
	}
	if !strings.Contains(string(got[1].Raw), "Message-ID: <") || !strings.Contains(string(got[1].Raw), "@ezscale.test>") {
		t.Errorf("Message-ID missing or not in the sender's domain:\n%s", got[1].Raw)
	}
}

func TestSendFailsWithoutAnySenderAddress(t *testing.T) {
	box := startSink(t)
	s, err := mail.NewSMTP(box.URL(), "")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), mail.Message{To: "bob@example.com", Subject: "x", Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "no sender") {
		t.Fatalf("Send without From = %v, want a no-sender error", err)
	}
	if n := len(box.Messages()); n != 0 {
		t.Fatalf("sink received %d messages, want none", n)
	}
}

func TestSendRefusesPlaintextWhenSTARTTLSIsRequired(t *testing.T) {
	box := startSink(t) // the sink does not offer STARTTLS
	s, err := mail.NewSMTP("smtp://"+box.Addr()+"?tls=starttls", "noreply@ezscale.test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = s.Send(ctx, mail.PasswordChanged("bob@example.com", "Bob"))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send with tls=starttls to a server without STARTTLS = %v, want a STARTTLS error", err)
	}
	if n := len(box.Messages()); n != 0 {
		t.Fatalf("message went out in plain text: sink received %d", n)
	}
}
