package web

import (
	"fmt"
	"html/template"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ezscale/billing/billing"
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
	"selectField":   selectField,
	"panelType":     panelTypeLabel,
	"panelTypes":    panelTypeOptions,
	"statuses":      serviceStatuses,
	"statusLabel":   statusLabel,
	"statusWords":   statusWords,
	"sumCounts":     sumCounts,
	"options":       options,
}

// options makes select choices from value, label pairs: (options "a" "Label A" "b" "Label B").
func options(pairs ...string) ([]Option, error) {
	if len(pairs)%2 != 0 {
		return nil, fmt.Errorf("options: %d arguments, want value and label pairs", len(pairs))
	}
	out := make([]Option, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Option{Value: pairs[i], Label: pairs[i+1]})
	}
	return out, nil
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

// Field is one labelled form control as the "field" partial draws it: an
// input of Type, or a <select> (Type "select", choices in Options), a
// <textarea> (Type "textarea") or a checkbox with its label beside it.
type Field struct {
	ID           string
	Name         string
	Label        string
	Type         string
	Value        string // for a checkbox, the value it sends when ticked
	Checked      bool   // checkbox only: Page.Form[Name] equals Value
	Options      []Option
	Placeholder  string // an input's placeholder; for a select, the label of an empty first choice
	Min          string
	Rows         int
	Disabled     bool
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
// maxlength, placeholder, min, rows, value, and the flags required, optional,
// autofocus, disabled ("true"). "value" is the value shown when Page.Form has
// none; for a checkbox it is the value sent when ticked (default "on"), and the
// box is ticked when Page.Form holds that value.
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
		case "placeholder":
			f.Placeholder = v
		case "min":
			f.Min = v
		case "value":
			f.Value = v
		case "rows":
			n, err := strconv.Atoi(v)
			if err != nil {
				return Field{}, fmt.Errorf("field %s: rows %q: %w", name, v, err)
			}
			f.Rows = n
		case "disabled":
			f.Disabled = v == "true"
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
	switch f.Type {
	case "password":
		f.Value = ""
	case "checkbox":
		if f.Value == "" {
			f.Value = "on"
		}
		f.Checked = p.Form[name] == f.Value
	default:
		if v, ok := p.Form[name]; ok {
			f.Value = v
		}
	}
	return f, nil
}

// selectField is field for a <select> of the given choices; the choice equal
// to Page.Form[name] is selected. Options as for field.
func selectField(p Page, name, label string, choices []Option, opts ...string) (Field, error) {
	f, err := field(p, name, label, append([]string{"type", "select"}, opts...)...)
	if err != nil {
		return Field{}, err
	}
	f.Options = choices
	return f, nil
}

// panelTypeLabels are the product names of the control panels we provision on.
var panelTypeLabels = map[string]string{
	"virtfusion":  "VirtFusion",
	"pterodactyl": "Pterodactyl",
	"synergycp":   "SynergyCP",
	"enhance":     "Enhance",
}

// panelTypeLabel is how a panel type is shown; unknown types show as given.
func panelTypeLabel(t string) string {
	if l, ok := panelTypeLabels[t]; ok {
		return l
	}
	return t
}

// panelTypeOptions turns panel type names into select choices with their labels.
func panelTypeOptions(types []string) []Option {
	out := make([]Option, 0, len(types))
	for _, t := range types {
		out = append(out, Option{Value: t, Label: panelTypeLabel(t)})
	}
	return out
}

// serviceStatuses are the service statuses in the order the filter tabs show
// them (billing.AllServiceStatuses: the one that needs someone first), as the
// keys of AdminServices.Counts.
func serviceStatuses() []string {
	all := billing.AllServiceStatuses()
	out := make([]string, len(all))
	for i, s := range all {
		out[i] = string(s)
	}
	return out
}

// statusLabel is a status in words ("needs_attention" -> "Needs attention"): the
// Label of a subscription, service or invoice status; a plain string is taken
// as a service status.
func statusLabel(status any) string {
	switch s := status.(type) {
	case interface{ Label() string }:
		return s.Label()
	case string:
		return billing.ServiceStatus(s).Label()
	}
	return fmt.Sprint(status)
}

// statusWords is a status in words inside a sentence ("needs_attention" -> "needs attention").
func statusWords(status any) string { return strings.ToLower(statusLabel(status)) }

// sumCounts adds up the services per status.
func sumCounts(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}
