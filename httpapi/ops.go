package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"go.temporal.io/sdk/client"

	"github.com/ezscale/billing/web"
)

// healthz says the process is up; it checks nothing else so a load balancer never restarts a
// healthy process because a dependency is down.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz answers 200 only when PostgreSQL and Temporal both answer, else 503 naming what is
// unavailable. The errors themselves (addresses, ports, driver messages) go only to the log:
// the endpoint is public.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	ready := true
	if err := s.Store.Ping(ctx); err != nil {
		s.Log.Warn("readiness: database unavailable", "err", err)
		checks["postgres"], ready = "unavailable", false
	}
	if _, err := s.Workflows.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		s.Log.Warn("readiness: temporal unavailable", "err", err)
		checks["temporal"], ready = "unavailable", false
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ready": ready, "checks": checks})
}

// devMail lists the messages the built-in SMTP sink caught (development mode only).
func (s *server) devMail(w http.ResponseWriter, r *http.Request) {
	msgs := s.Sink.Messages()
	view := web.MailList{Messages: make([]web.MailSummary, 0, len(msgs))}
	for _, m := range msgs {
		view.Messages = append(view.Messages, mailSummary(m.ID, m.From, m.To, m.Subject, m.Received))
	}
	s.render(w, r, http.StatusOK, "dev_mail", s.page(r, "Dev mail", view))
}

func (s *server) devMailMessage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(chi.URLParam(r, "id"))
	if err != nil {
		s.notFound(w, r)
		return
	}
	m, ok := s.Sink.Message(id)
	if !ok {
		s.notFound(w, r)
		return
	}
	v := web.MailMessage{MailSummary: mailSummary(m.ID, m.From, m.To, m.Subject, m.Received), Text: m.Text, HTML: m.HTML}
	for i, a := range m.Attachments {
		v.Attachments = append(v.Attachments, web.MailAttachment{Index: i, Name: a.Name, ContentType: a.ContentType, Size: byteSize(len(a.Data))})
	}
	s.render(w, r, http.StatusOK, "dev_mail_message", s.page(r, m.Subject, v))
}

// devMailAttachment downloads one attachment of a caught message. It is always a download
// (never shown inline) and sandboxed, so an HTML attachment cannot run as our site.
func (s *server) devMailAttachment(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(chi.URLParam(r, "id"))
	if err != nil {
		s.notFound(w, r)
		return
	}
	n, err := strconv.Atoi(chi.URLParam(r, "n"))
	if err != nil {
		s.notFound(w, r)
		return
	}
	m, ok := s.Sink.Message(id)
	if !ok || n < 0 || n >= len(m.Attachments) {
		s.notFound(w, r)
		return
	}
	a := m.Attachments[n]
	ctype := a.ContentType
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	name := a.Name
	if name == "" {
		name = fmt.Sprintf("attachment-%d", n+1)
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(a.Data)
}

// byteSize writes n bytes the way a file list does: "812 B", "12.3 kB", "1.4 MB".
func byteSize(n int) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1000*1000))
}

func mailSummary(id int, from string, to []string, subject string, at time.Time) web.MailSummary {
	rcpt := ""
	for i, t := range to {
		if i > 0 {
			rcpt += ", "
		}
		rcpt += t
	}
	return web.MailSummary{ID: id, To: rcpt, From: from, Subject: subject, Received: at}
}
