// Package mail renders the platform's customer emails from embedded templates and sends them over
// SMTP.
package mail

// Message is one email ready to send. From may be empty: the sender then uses its configured
// address.
type Message struct {
	From        string
	To          string
	Subject     string
	Text        string
	HTML        string
	Attachments []Attachment
}

// Attachment is a file sent with a Message, such as an invoice PDF.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}
