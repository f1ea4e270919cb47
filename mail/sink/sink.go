// Package sink is an in-memory SMTP server that keeps the newest messages it receives, for dev mode
// (the /dev/mail page) and for tests that need to read what the platform sent.
package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Capacity is how many messages a Sink keeps; older ones are dropped as new ones arrive.
const Capacity = 500

// maxMessageBytes bounds one message, so a runaway sender cannot exhaust memory.
const maxMessageBytes = 25 << 20

// Message is one received email with its MIME body decoded. To holds the envelope recipients;
// From is the From header, or the envelope sender when the header is missing.
type Message struct {
	ID          int
	From        string
	To          []string
	Subject     string
	Text, HTML  string
	Attachments []Attachment
	Received    time.Time
	Raw         []byte
}

// Attachment is a decoded non-body MIME part of a received message.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Sink is a running SMTP server that accepts every message for every recipient, without
// authentication or TLS. It is safe for concurrent use.
type Sink struct {
	log      *slog.Logger
	server   *smtp.Server
	listener net.Listener
	served   chan struct{}

	mu       sync.Mutex
	nextID   int
	messages []Message     // oldest first, at most Capacity
	arrived  chan struct{} // closed and replaced whenever a message arrives
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves SMTP in a goroutine until
// Close.
func Start(log *slog.Logger, addr string) (*Sink, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mail sink: listen on %s: %w", addr, err)
	}
	s := &Sink{log: log, listener: l, served: make(chan struct{}), nextID: 1, arrived: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{sink: s}, nil
	}))
	srv.Domain = "localhost"
	srv.MaxMessageBytes = maxMessageBytes
	srv.MaxRecipients = 100
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = errorLog{log}
	s.server = srv
	go func() {
		defer close(s.served)
		if err := srv.Serve(l); err != nil {
			log.Error("mail sink stopped", "addr", l.Addr().String(), "err", err)
		}
	}()
	log.Info("mail sink listening", "addr", l.Addr().String())
	return s, nil
}

// Addr is the host:port the sink listens on.
func (s *Sink) Addr() string { return s.listener.Addr().String() }

// URL is the address to give mail.NewSMTP to send into this sink.
func (s *Sink) URL() string { return "smtp://" + s.Addr() + "?tls=none" }

// Close stops the server and closes open connections; the received messages stay readable.
func (s *Sink) Close() error {
	err := s.server.Close()
	// The server only knows the listener once Serve has run; closing it here too ends a Serve
	// that has not started yet, instead of leaving it blocked in Accept.
	if lerr := s.listener.Close(); lerr != nil && !errors.Is(lerr, net.ErrClosed) && err == nil {
		err = lerr
	}
	<-s.served
	if err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("mail sink: close: %w", err)
	}
	return nil
}

// Messages returns the kept messages, newest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[len(out)-1-i] = m
	}
	return out
}

// Message returns the message with id, if it is still kept.
func (s *Sink) Message(id int) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.ID == id {
			return m, true
		}
	}
	return Message{}, false
}

// Wait blocks until a kept message satisfies match and returns the earliest such message; messages
// received before the call count. It returns ctx's error when ctx ends first.
func (s *Sink) Wait(ctx context.Context, match func(Message) bool) (Message, error) {
	for {
		s.mu.Lock()
		arrived := s.arrived
		for _, m := range s.messages {
			if match(m) {
				s.mu.Unlock()
				return m, nil
			}
		}
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("mail sink: wait for message: %w", ctx.Err())
		}
	}
}

func (s *Sink) add(from string, to []string, raw []byte) {
	m := parse(raw)
	if m.From == "" {
		m.From = from
	}
	m.To = to
	m.Raw = raw

	s.mu.Lock()
	m.ID = s.nextID
	m.Received = time.Now()
	s.nextID++
	s.messages = append(s.messages, m)
	if over := len(s.messages) - Capacity; over > 0 {
		clear(s.messages[:over]) // let the dropped bodies be collected
		s.messages = s.messages[over:]
	}
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()

	s.log.Info("mail captured", "id", m.ID, "to", to, "subject", m.Subject)
}

// session collects one SMTP transaction at a time.
type session struct {
	sink *Sink
	from string
	to   []string
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

// Data stores the message before answering, so a sender's Send returning means it is readable.
func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read message data: %w", err)
	}
	ss.sink.add(ss.from, ss.to, raw)
	return nil
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }

// errorLog routes the SMTP server's connection errors to slog.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Printf(format string, v ...any) {
	e.log.Warn("mail sink: " + fmt.Sprintf(format, v...))
}
func (e errorLog) Println(v ...any) { e.log.Warn("mail sink: " + fmt.Sprint(v...)) }
