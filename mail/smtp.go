package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// SMTP sends messages through one SMTP server. It is safe for concurrent use: every Send opens
// its own connection.
type SMTP struct {
	host string
	from string
	opts []gomail.Option
}

// Transport security modes accepted in the tls query parameter of an SMTP URL.
const (
	tlsNone     = "none"
	tlsStartTLS = "starttls"
	tlsImplicit = "tls"
)

// NewSMTP configures a sender from rawURL, smtp://[user:pass@]host:port?tls=none|starttls|tls or
// smtps://[user:pass@]host:port, and the default sender address from. Without a tls parameter,
// loopback hosts use none and every other host requires STARTTLS.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse SMTP URL: %w", err)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("SMTP URL %q: missing host", u.Redacted())
	}
	if from != "" {
		if _, err := netmail.ParseAddress(from); err != nil {
			return nil, fmt.Errorf("sender address %q: %w", from, err)
		}
	}

	mode := u.Query().Get("tls")
	switch u.Scheme {
	case "smtps":
		if mode != "" && mode != tlsImplicit {
			return nil, fmt.Errorf("SMTP URL %q: smtps:// always uses implicit TLS, got tls=%s", u.Redacted(), mode)
		}
		mode = tlsImplicit
	case "smtp":
		if mode == "" {
			mode = tlsStartTLS
			if isLoopback(host) {
				mode = tlsNone
			}
		}
	default:
		return nil, fmt.Errorf("SMTP URL %q: scheme must be smtp or smtps", u.Redacted())
	}

	port := 0
	switch mode {
	case tlsNone:
		port = 25
	case tlsStartTLS:
		port = 587
	case tlsImplicit:
		port = 465
	default:
		return nil, fmt.Errorf("SMTP URL %q: tls must be none, starttls or tls, got %q", u.Redacted(), mode)
	}
	if p := u.Port(); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("SMTP URL %q: invalid port %q", u.Redacted(), p)
		}
	}

	opts := []gomail.Option{gomail.WithPort(port)}
	switch mode {
	case tlsNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case tlsStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case tlsImplicit:
		opts = append(opts, gomail.WithSSL())
	}
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		auth := gomail.SMTPAuthAutoDiscover
		if mode == tlsNone {
			// Only PLAIN is possible without TLS, and go-mail allows it to loopback hosts only.
			if !isLoopback(host) {
				return nil, fmt.Errorf("SMTP URL %q: refusing to send credentials to %s without TLS", u.Redacted(), host)
			}
			auth = gomail.SMTPAuthPlain
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(user), gomail.WithPassword(pass))
	}

	s := &SMTP{host: host, from: from, opts: opts}
	if _, err := s.client(); err != nil {
		return nil, fmt.Errorf("SMTP URL %q: %w", u.Redacted(), err)
	}
	return s, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *SMTP) client() (*gomail.Client, error) {
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return nil, fmt.Errorf("configure SMTP client: %w", err)
	}
	return c, nil
}

// Send delivers m: multipart/alternative when it has an HTML body, multipart/mixed when it has
// attachments, with a fresh Message-ID and the current Date.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := s.build(m)
	if err != nil {
		return err
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send %q to %s via %s: %w", m.Subject, m.To, s.host, err)
	}
	return nil
}

func (s *SMTP) build(m Message) (*gomail.Msg, error) {
	from := m.From
	if from == "" {
		from = s.from
	}
	if from == "" {
		return nil, errors.New("build message: no sender address (set Message.From or the configured sender)")
	}
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("build message: sender %q: %w", from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("build message: recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	switch {
	case m.HTML == "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	case m.Text == "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	for _, a := range m.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = string(gomail.TypeAppOctetStream)
		}
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return nil, fmt.Errorf("build message: attach %s: %w", a.Name, err)
		}
	}
	msg.SetMessageIDWithValue(messageID(msg.GetFrom()))
	msg.SetDate()
	return msg, nil
}

// messageID is a random id in the sender's domain, so replies and bounces thread correctly and
// the id does not reveal the sending host's name.
func messageID(from []*netmail.Address) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	domain := "ezscale.invalid"
	if len(from) > 0 {
		if at := strings.LastIndexByte(from[0].Address, '@'); at >= 0 && at+1 < len(from[0].Address) {
			domain = from[0].Address[at+1:]
		}
	}
	return hex.EncodeToString(b) + "@" + domain
}
