package web

import (
	"fmt"
	"html/template"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// funcs are the helpers every template set gets.
var funcs = template.FuncMap{
	"datetime":      datetime,
	"isoTime":       isoTime,
	"linkify":       linkify,
	"hasPrefix":     strings.HasPrefix,
	"otherTheme":    otherTheme,
	"field":         field,
	"statusOrBlank": statusOrBlank,
}

// datetime formats t in UTC for tables and headers; the zero time is a dash.
func datetime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// isoTime is the machine-readable form for <time datetime="...">.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// otherTheme is the theme the toggle switches to.
func otherTheme(theme string) string {
	if theme == "dark" {
		return "light"
	}
	return "dark"
}

// statusOrBlank shows an HTTP status code, or nothing for 0.
func statusOrBlank(status int) string {
	if status == 0 {
		return ""
	}
	return strconv.Itoa(status)
}

// urlPattern finds http(s) URLs in plain text; it stops at whitespace and at
// characters that cannot be part of a URL in a mail body.
var urlPattern = regexp.MustCompile(`https?://[^\s<>"'` + "`" + `]+`)

// linkify HTML-escapes plain text and wraps the http(s) URLs in it in anchors,
// so links in the text body of a caught mail can be followed.
func linkify(text string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range urlPattern.FindAllStringIndex(text, -1) {
		start, end := m[0], trimURLEnd(text[m[0]:m[1]])+m[0]
		b.WriteString(template.HTMLEscapeString(text[last:start]))
		u := template.HTMLEscapeString(text[start:end])
		b.WriteString(`<a href="` + u + `" rel="noopener noreferrer">` + u + `</a>`)
		last = end
	}
	b.WriteString(template.HTMLEscapeString(text[last:]))
	return template.HTML(b.String())
}

// trimURLEnd drops sentence punctuation that follows a URL ("see https://x.y/z.")
// and a closing parenthesis that the URL did not open; it returns the new length.
func trimURLEnd(u string) int {
	for len(u) > 0 {
		c := u[len(u)-1]
		switch {
		case strings.IndexByte(".,;:!?", c) >= 0:
			u = u[:len(u)-1]
		case c == ')' && strings.Count(u, "(") < strings.Count(u, ")"):
			u = u[:len(u)-1]
		default:
			return len(u)
		}
	}
	return 0
}

// Field is one labelled form input as the "field" partial draws it.
type Field struct {
	ID           string
	Name         string
	Label        string
	Type         string
	Value        string
	Error        string
	Hint         string
	TestID       string
	Autocomplete string
	InputMode    string
	MinLength    int
	MaxLength    int
	Required     bool
	Optional     bool // says "(optional)" next to the label
	Autofocus    bool
}

// field builds a Field for name from the page: the value comes from Page.Form
// (never for passwords) and the message from Page.Errors. Options follow as
// key/value pairs: type, testid, autocomplete, inputmode, hint, id, minlength,
// maxlength, and the flags required, optional, autofocus ("true").
func field(p Page, name, label string, opts ...string) (Field, error) {
	if len(opts)%2 != 0 {
		return Field{}, fmt.Errorf("field %s: options must be key/value pairs", name)
	}
	f := Field{ID: "f-" + name, Name: name, Label: label, Type: "text", Error: p.Errors[name]}
	for i := 0; i < len(opts); i += 2 {
		k, v := opts[i], opts[i+1]
		switch k {
		case "type":
			f.Type = v
		case "testid":
			f.TestID = v
		case "autocomplete":
			f.Autocomplete = v
		case "inputmode":
			f.InputMode = v
		case "hint":
			f.Hint = v
		case "id":
			f.ID = v
		case "minlength", "maxlength":
			n, err := strconv.Atoi(v)
			if err != nil {
				return Field{}, fmt.Errorf("field %s: %s %q: %w", name, k, v, err)
			}
			if k == "minlength" {
				f.MinLength = n
			} else {
				f.MaxLength = n
			}
		case "required":
			f.Required = v == "true"
		case "optional":
			f.Optional = v == "true"
		case "autofocus":
			f.Autofocus = v == "true"
		default:
			return Field{}, fmt.Errorf("field %s: unknown option %q", name, k)
		}
	}
	if f.Type != "password" {
		f.Value = p.Form[name]
	}
	return f, nil
}
