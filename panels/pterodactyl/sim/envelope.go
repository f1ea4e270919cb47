package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ezscale/billing/panels/simkit"
)

// The panel's own words for common failures.
const (
	msgNotFound     = "The requested resource could not be found on the server."
	msgNoAllocation = "No allocations satisfying the requirements for automatic deployment on this node were found."
	msgNoNode       = "No nodes satisfying the requirements specified for automatic deployment could be found."
	msgMalformed    = "The JSON data passed in the request appears to be malformed: Syntax error"
)

// apiError is one entry of the panel's error envelope; status is a string.
type apiError struct {
	Code   string   `json:"code"`
	Status string   `json:"status"`
	Detail string   `json:"detail"`
	Meta   *errMeta `json:"meta,omitempty"`
}

// errMeta names the field and rule of a failed validation.
type errMeta struct {
	SourceField string `json:"source_field"`
	Rule        string `json:"rule"`
}

func writeError(w http.ResponseWriter, status int, code, detail string) {
	simkit.JSON(w, status, map[string]any{"errors": []apiError{{Code: code, Status: strconv.Itoa(status), Detail: detail}}})
}

func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "NotFoundHttpException", msgNotFound)
}

// displayError is a DisplayException: 400 with the panel's message.
func displayError(w http.ResponseWriter, code, detail string) {
	writeError(w, http.StatusBadRequest, code, detail)
}

// item writes {"object":..., "attributes":...}.
func item(w http.ResponseWriter, status int, object string, attrs map[string]any) {
	simkit.JSON(w, status, map[string]any{"object": object, "attributes": attrs})
}

// wrap makes one object of a list.
func wrap(object string, attrs map[string]any) map[string]any {
	return map[string]any{"object": object, "attributes": attrs}
}

// list writes a paginated list envelope for the page of data selected by ?page and ?per_page.
func list(w http.ResponseWriter, r *http.Request, object string, all []map[string]any) {
	perPage, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if perPage < 1 || perPage > 100 {
		perPage = 50
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 1 {
		page = 1
	}
	total := len(all)
	pages := (total + perPage - 1) / perPage
	if pages == 0 {
		pages = 1
	}
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	data := make([]map[string]any, 0, end-start)
	for _, a := range all[start:end] {
		data = append(data, wrap(object, a))
	}
	links := map[string]any{}
	if page < pages {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page+1))
		links["next"] = (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).String()
	}
	simkit.JSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   data,
		"meta": map[string]any{"pagination": map[string]any{
			"total": total, "count": len(data), "per_page": perPage,
			"current_page": page, "total_pages": pages, "links": links,
		}},
	})
}

// relation is an included list under attributes.relationships.
func relation(object string, all []map[string]any) map[string]any {
	data := make([]map[string]any, 0, len(all))
	for _, a := range all {
		data = append(data, wrap(object, a))
	}
	return map[string]any{"object": "list", "data": data}
}

// includes reads ?include=a,b.
func includes(r *http.Request) map[string]bool {
	m := map[string]bool{}
	for _, v := range strings.Split(r.URL.Query().Get("include"), ",") {
		if v = strings.TrimSpace(v); v != "" {
			m[v] = true
		}
	}
	return m
}

// readJSON decodes a JSON object body; an empty body is an empty object. On malformed JSON it
// answers 400 BadRequestHttpException as the IsValidJson middleware does, and returns false.
func readJSON(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestHttpException", msgMalformed)
		return nil, false
	}
	body := map[string]any{}
	if len(bytes.TrimSpace(data)) == 0 {
		return body, true
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestHttpException", msgMalformed)
		return nil, false
	}
	return body, true
}

// validation collects failed rules the way Laravel's validator reports them: one envelope entry
// per failed rule, with meta.source_field and meta.rule.
type validation struct{ errs []apiError }

func (v *validation) fail(field, rule, format string, args ...any) {
	v.errs = append(v.errs, apiError{
		Code: "ValidationException", Status: "422",
		Detail: fmt.Sprintf(format, args...),
		Meta:   &errMeta{SourceField: field, Rule: rule},
	})
}

func (v *validation) failed(field string) bool {
	for _, e := range v.errs {
		if e.Meta != nil && e.Meta.SourceField == field {
			return true
		}
	}
	return false
}

// write answers 422 with the collected entries and reports whether there were any.
func (v *validation) write(w http.ResponseWriter) bool {
	if len(v.errs) == 0 {
		return false
	}
	simkit.JSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": v.errs})
	return true
}

// attr is Laravel's display name of a field: underscores become spaces.
func attr(field string) string { return strings.ReplaceAll(field, "_", " ") }

// lookup finds a dotted field ("limits.memory") in a decoded body.
func lookup(body map[string]any, field string) (any, bool) {
	var cur any = body
	for _, part := range strings.Split(field, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// str checks a string rule set: required (or optional when absent), nullable, max length.
// It returns the value and whether one was given.
func (v *validation) str(body map[string]any, field string, required, nullable bool, max int) (string, bool) {
	raw, ok := lookup(body, field)
	if !ok || raw == nil || raw == "" {
		switch {
		case required:
			v.fail(field, "required", "The %s field is required.", attr(field))
		case ok && raw == nil && !nullable:
			v.fail(field, "string", "The %s field must be a string.", attr(field))
		}
		return "", false
	}
	s, isString := raw.(string)
	if !isString {
		v.fail(field, "string", "The %s field must be a string.", attr(field))
		return "", false
	}
	if max > 0 && len([]rune(s)) > max {
		v.fail(field, "max", "The %s field must not be greater than %d characters.", attr(field), max)
		return "", false
	}
	return s, true
}

// integer checks an integer rule set with a lower bound (and an upper one when hi > lo).
// present means the key must exist but may be null. It returns the value and whether one was given.
func (v *validation) integer(body map[string]any, field string, required, present bool, lo, hi int64) (int64, bool) {
	raw, ok := lookup(body, field)
	if !ok || raw == nil {
		switch {
		case required:
			v.fail(field, "required", "The %s field is required.", attr(field))
		case present && !ok:
			v.fail(field, "present", "The %s field must be present.", attr(field))
		}
		return 0, false
	}
	n, isInt := asInt(raw)
	if !isInt {
		v.fail(field, "integer", "The %s field must be an integer.", attr(field))
		return 0, false
	}
	switch {
	case hi > lo && (n < lo || n > hi):
		v.fail(field, "between", "The %s field must be between %d and %d.", attr(field), lo, hi)
		return 0, false
	case hi <= lo && n < lo:
		v.fail(field, "min", "The %s field must be at least %d.", attr(field), lo)
		return 0, false
	}
	return n, true
}

// boolean checks a boolean field; Laravel accepts true/false, 0/1 and their strings.
func (v *validation) boolean(body map[string]any, field string, required bool) (bool, bool) {
	raw, ok := lookup(body, field)
	if !ok || raw == nil {
		if required {
			v.fail(field, "required", "The %s field is required.", attr(field))
		}
		return false, false
	}
	switch b := raw.(type) {
	case bool:
		return b, true
	case json.Number:
		if b == "0" || b == "1" {
			return b == "1", true
		}
	case string:
		if b == "0" || b == "1" || b == "true" || b == "false" {
			return b == "1" || b == "true", true
		}
	}
	v.fail(field, "boolean", "The %s field must be true or false.", attr(field))
	return false, false
}

// object checks that a field is a JSON object.
func (v *validation) object(body map[string]any, field string, required bool) (map[string]any, bool) {
	raw, ok := lookup(body, field)
	if !ok || raw == nil {
		if required {
			v.fail(field, "required", "The %s field is required.", attr(field))
		}
		return nil, false
	}
	m, isMap := raw.(map[string]any)
	if !isMap {
		v.fail(field, "array", "The %s field must be an array.", attr(field))
		return nil, false
	}
	return m, true
}

// asInt reads an integer from a JSON number or a numeric string, as Laravel's integer rule does.
func asInt(raw any) (int64, bool) {
	switch x := raw.(type) {
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// pathInt reads an integer path value; anything else is a 404 for the panel's routes.
func pathInt(r *http.Request, name string) (int, bool) {
	n, err := strconv.Atoi(r.PathValue(name))
	return n, err == nil && n > 0
}
