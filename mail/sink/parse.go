package sink

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
)

// maxDepth bounds multipart nesting, so a hostile message cannot recurse without end.
const maxDepth = 10

// parse decodes the headers and bodies of a raw message. A message it cannot parse keeps its Raw
// bytes and whatever was decoded before the failure, which is what a developer needs to see.
func parse(raw []byte) Message {
	var m Message
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m
	}
	m.From = decodeHeader(msg.Header.Get("From"))
	m.Subject = decodeHeader(msg.Header.Get("Subject"))
	walk(&m, textproto.MIMEHeader(msg.Header), msg.Body, 0)
	return m
}

// decodeHeader decodes RFC 2047 encoded words ("=?UTF-8?q?Caf=C3=A9?=") in a header value.
func decodeHeader(v string) string {
	d, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

// walk visits one MIME entity: multiparts recurse, the first text/plain and text/html that are
// not attachments become the bodies, every other leaf becomes an attachment.
func walk(m *Message, h textproto.MIMEHeader, body io.Reader, depth int) {
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mediaType, params = "text/plain", nil
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= maxDepth || params["boundary"] == "" {
			return
		}
		r := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart leaves the transfer encoding to decode, which handles every part alike.
			p, err := r.NextRawPart()
			if err != nil {
				return
			}
			walk(m, p.Header, p, depth+1)
		}
	}

	data, err := io.ReadAll(decodeTransfer(h.Get("Content-Transfer-Encoding"), body))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return
	}
	disposition, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := decodeHeader(dparams["filename"])
	if name == "" {
		name = decodeHeader(params["name"])
	}
	attached := disposition == "attachment" || name != ""
	switch {
	case mediaType == "text/plain" && !attached && m.Text == "":
		m.Text = lf(data)
	case mediaType == "text/html" && !attached && m.HTML == "":
		m.HTML = lf(data)
	default:
		m.Attachments = append(m.Attachments, Attachment{Name: name, ContentType: mediaType, Data: data})
	}
}

// lf turns the CRLF line endings SMTP requires back into the \n the sender wrote.
func lf(b []byte) string { return strings.ReplaceAll(string(b), "\r\n", "\n") }

func decodeTransfer(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r) // the decoder skips line breaks itself
	default: // 7bit, 8bit, binary
		return r
	}
}
