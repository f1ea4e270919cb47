package sandbox

import (
	_ "embed"
	"html/template"
)

//go:embed pages.html
var pagesHTML string

// parsePages parses the hosted page templates, which are part of the binary and known good.
func parsePages() *template.Template {
	return template.Must(template.New("pages").Parse(pagesHTML))
}
