package sandbox

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"time"
)

//go:embed pages.html
var pagesHTML string

//go:embed static/sandbox.css
var stylesheetCSS []byte

// stylesheetPath is where Handler serves the pages' stylesheet.
const stylesheetPath = "/sandbox/static/sandbox.css"

// pageCSP lets the hosted pages load only their own stylesheet: no inline styles or scripts,
// no images or frames, matching the app's own style-src 'self' policy. form-action is left
// open on purpose: the form's redirect to the shop's SuccessURL is another origin, and
// browsers apply form-action to redirects.
const pageCSP = "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'"

// parsePages parses the hosted page templates, which are part of the binary and known good.
// {{stylesheet}} is the stylesheet's URL with a content hash, so a changed file is fetched anew.
func parsePages() *template.Template {
	href := stylesheetPath + "?v=" + stylesheetVersion()
	return template.Must(template.New("pages").
		Funcs(template.FuncMap{"stylesheet": func() string { return href }}).
		Parse(pagesHTML))
}

// stylesheetVersion is a short hash of the embedded stylesheet, also its ETag.
func stylesheetVersion() string {
	sum := sha256.Sum256(stylesheetCSS)
	return hex.EncodeToString(sum[:6])
}

// serveStylesheet serves the embedded CSS the hosted pages link to.
func serveStylesheet(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", `"`+stylesheetVersion()+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "sandbox.css", time.Time{}, bytes.NewReader(stylesheetCSS))
}
