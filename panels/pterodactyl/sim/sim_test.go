package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

type answer struct {
	status int
	header http.Header
	body   map[string]any
	errors []apiError
}

// call sends one request to the simulator; key "" sends no Authorization header.
func call(t *testing.T, h http.Handler, key, accept, method, path, body string) answer {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	a := answer{status: w.Code, header: w.Header()}
	data, _ := io.ReadAll(w.Body)
	if len(data) > 0 && strings.Contains(w.Header().Get("Content-Type"), "json") {
		if err := json.Unmarshal(data, &a.body); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, path, data, err)
		}
		var env struct {
			Errors []apiError `json:"errors"`
		}
		_ = json.Unmarshal(data, &env)
		a.errors = env.Errors
	}
	return a
}

const jsonAccept = "Application/vnd.pterodactyl.v1+json"

// app calls the Application API with the application key.
func app(t *testing.T, s *Sim, method, path, body string) answer {
	return call(t, s, s.Token(), jsonAccept, method, path, body)
}

func (a answer) onlyError(t *testing.T, status int, code string) apiError {
	t.Helper()
	if a.status != status || len(a.errors) == 0 || a.errors[0].Code != code {
		t.Fatalf("answer %d %+v, want %d %s", a.status, a.errors, status, code)
	}
	if a.errors[0].Status != strconv.Itoa(status) {
		t.Fatalf("envelope status %q, want the string %q", a.errors[0].Status, strconv.Itoa(status))
	}
	return a.errors[0]
}

func itoa(n int) string { return strconv.Itoa(n) }

func (a answer) hasRule(field, rule string) bool {
	for _, e := range a.errors {
		if e.Meta != nil && e.Meta.SourceField == field && e.Meta.Rule == rule && e.Status == "422" {
			return true
		}
	}
	return false
}

func TestAuthFailuresAnswerInThePanelsShape(t *testing.T) {
	s := New(Options{})
	a := call(t, s, "", jsonAccept, "GET", "/api/application/users", "")
	if e := a.onlyError(t, 401, "AuthenticationException"); e.Detail != "Unauthenticated." {
		t.Fatalf("401 detail %q", e.Detail)
	}
	a = call(t, s, "ptla_wrong", "", "GET", "/api/application/users", "")
	if a.status != http.StatusFound || a.header.Get("Location") != "/auth/login" {
		t.Fatalf("without a JSON Accept: %d Location %q, want 302 to /auth/login", a.status, a.header.Get("Location"))
	}
	a = call(t, s, s.Token(), jsonAccept, "GET", "/api/client/account", "")
	if e := a.onlyError(t, 403, "AccessDeniedHttpException"); !strings.Contains(e.Detail, "application API key on an endpoint that requires a client API key") {
		t.Fatalf("ptla_ key on the Client API: %q", e.Detail)
	}
	if a := call(t, s, s.ClientKey(), jsonAccept, "GET", "/api/application/users", ""); a.status != 200 {
		t.Fatalf("root admin's client key on the Application API: %d", a.status)
	}
	a = app(t, s, "POST", "/api/application/users", `{"email":"u@example.com","username":"user-2","first_name":"U","last_name":"S"}`)
	if a.status != 201 {
		t.Fatalf("create user: %d %+v", a.status, a.errors)
	}
	key, _ := s.IssueClientKey(2)
	a = call(t, s, key, jsonAccept, "GET", "/api/application/users", "")
	if e := a.onlyError(t, 403, "AccessDeniedHttpException"); !strings.Contains(e.Detail, "does not have permission") {
		t.Fatalf("non-admin client key on the Application API: %q", e.Detail)
	}
}

func TestUnknownIDsAnswer404Envelope(t *testing.T) {
	s := New(Options{})
	for _, p := range []struct{ method, path string }{
		{"DELETE", "/api/application/servers/77"},
		{"GET", "/api/application/servers/external/svc-1"},
		{"GET", "/api/application/users/external/1"},
		{"POST", "/api/application/servers/77/suspend"},
		{"GET", "/api/application/nests/1/eggs/3"},
	} {
		e := app(t, s, p.method, p.path, "").onlyError(t, 404, "NotFoundHttpException")
		if e.Detail != "The requested resource could not be found on the server." {
			t.Fatalf("%s %s: detail %q", p.method, p.path, e.Detail)
		}
	}
}

func TestMalformedJSONIsBadRequest(t *testing.T) {
	s := New(Options{})
	app(t, s, "POST", "/api/application/users", `{"email":`).onlyError(t, 400, "BadRequestHttpException")
}

// serverBody is a valid create body for user 1 on egg 2, with external_id and deploy spliced in.
func serverBody(externalID string) string {
	return `{"external_id":` + externalID + `,"name":"mc","user":1,"egg":2,
		"docker_image":"ghcr.io/pterodactyl/yolks:java_17","startup":"java -jar server.jar",
		"environment":{"SERVER_JARFILE":"server.jar","VANILLA_VERSION":"latest"},
		"limits":{"memory":1024,"swap":0,"disk":4096,"io":500,"cpu":100},
		"feature_limits":{"databases":0,"backups":0},
		"deploy":{"locations":[1],"dedicated_ip":false,"port_range":["25565-25600"]}}`
}

func TestServerExternalIDMustBeAUniqueString(t *testing.T) {
	s := New(Options{})
	if a := app(t, s, "POST", "/api/application/servers", serverBody(`42`)); !a.hasRule("external_id", "string") {
		t.Fatalf("numeric external_id: %d %+v, want 422 string", a.status, a.errors)
	}
	if a := app(t, s, "POST", "/api/application/servers", serverBody(`"svc-42"`)); a.status != 201 {
		t.Fatalf("create: %d %+v", a.status, a.errors)
	}
	a := app(t, s, "POST", "/api/application/servers", serverBody(`"svc-42"`))
	if !a.hasRule("external_id", "unique") || a.errors[0].Detail != "The external id has already been taken." {
		t.Fatalf("duplicate external_id: %d %+v, want 422 unique", a.status, a.errors)
	}
	if s.ServicesFor("svc-42") != 1 || s.ServiceCount() != 1 {
		t.Fatalf("%d servers for svc-42", s.ServicesFor("svc-42"))
	}
	if a := app(t, s, "POST", "/api/application/users", `{"external_id":7,"email":"a@b.c","username":"abc","first_name":"A","last_name":"B"}`); !a.hasRule("external_id", "string") {
		t.Fatalf("numeric user external_id: %d %+v", a.status, a.errors)
	}
}

func TestCreateReportsEveryFailedRule(t *testing.T) {
	s := New(Options{})
	a := app(t, s, "POST", "/api/application/servers", `{"egg":99,"user":1,"environment":{},"limits":{"io":5}}`)
	for _, want := range []struct{ field, rule string }{
		{"name", "required"}, {"egg", "exists"}, {"docker_image", "required"}, {"startup", "required"},
		{"limits.memory", "required"}, {"limits.io", "between"}, {"feature_limits", "required"},
		{"allocation.default", "required_without"}, {"deploy", "required_without"},
	} {
		if !a.hasRule(want.field, want.rule) {
			t.Errorf("no 422 entry for %s/%s in %+v", want.field, want.rule, a.errors)
		}
	}
}

func TestBuildUpdateRequiresTheAllocation(t *testing.T) {
	s := New(Options{})
	created := app(t, s, "POST", "/api/application/servers", serverBody(`"svc-1"`))
	attrs := created.body["attributes"].(map[string]any)
	alloc := itoa(int(attrs["allocation"].(float64)))
	limits := `"limits":{"memory":2048,"swap":0,"disk":4096,"io":500,"cpu":100},"feature_limits":{"databases":1,"allocations":0,"backups":1}`

	a := app(t, s, "PATCH", "/api/application/servers/1/build", `{`+limits+`}`)
	if !a.hasRule("allocation", "required") {
		t.Fatalf("build without allocation: %d %+v, want 422 source_field allocation", a.status, a.errors)
	}
	app(t, s, "PATCH", "/api/application/servers/1/build", `{"allocation":999,`+limits+`}`).onlyError(t, 400, "DisplayException")
	a = app(t, s, "PATCH", "/api/application/servers/1/build", `{"allocation":`+alloc+`,`+limits+`}`)
	if a.status != 200 || a.body["attributes"].(map[string]any)["limits"].(map[string]any)["memory"].(float64) != 2048 {
		t.Fatalf("build with allocation: %d %+v", a.status, a.body)
	}
	// The legacy flat form is accepted too.
	a = app(t, s, "PATCH", "/api/application/servers/1/build", `{"allocation":`+alloc+`,"memory":3072,"swap":0,"disk":4096,"io":500,"cpu":100,"feature_limits":{"databases":1,"backups":1}}`)
	if a.status != 200 {
		t.Fatalf("flat build: %d %+v", a.status, a.errors)
	}
}

func TestInstallSuspendAndPowerStates(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }, BuildDelay: time.Minute})
	attrs := app(t, s, "POST", "/api/application/servers", serverBody(`"svc-1"`)).body["attributes"].(map[string]any)
	ident := attrs["identifier"].(string)
	if attrs["status"] != "installing" {
		t.Fatalf("new server status %v, want installing", attrs["status"])
	}
	power := func(key string) answer {
		return call(t, s, key, jsonAccept, "POST", "/api/client/servers/"+ident+"/power", `{"signal":"start"}`)
	}
	power(s.ClientKey()).onlyError(t, 409, "ConflictHttpException")
	now = now.Add(time.Minute)
	if st := app(t, s, "GET", "/api/application/servers/1", "").body["attributes"].(map[string]any)["status"]; st != nil {
		t.Fatalf("status after the install %v, want null", st)
	}
	if a := power(s.ClientKey()); a.status != 204 {
		t.Fatalf("power after install: %d %+v", a.status, a.errors)
	}
	if a := app(t, s, "POST", "/api/application/servers/1/suspend", ""); a.status != 204 {
		t.Fatalf("suspend: %d", a.status)
	}
	attrs = app(t, s, "GET", "/api/application/servers/1", "").body["attributes"].(map[string]any)
	if attrs["status"] != "suspended" || attrs["suspended"] != true {
		t.Fatalf("after suspend status %v suspended %v", attrs["status"], attrs["suspended"])
	}
	if e := power(s.ClientKey()).onlyError(t, 409, "ConflictHttpException"); !strings.Contains(e.Detail, "suspended") {
		t.Fatalf("power while suspended: %q", e.Detail)
	}
	app(t, s, "POST", "/api/application/servers/1/unsuspend", "")
	attrs = app(t, s, "GET", "/api/application/servers/1", "").body["attributes"].(map[string]any)
	if attrs["status"] != nil || attrs["suspended"] != false {
		t.Fatalf("after unsuspend status %v suspended %v", attrs["status"], attrs["suspended"])
	}
}

func TestAllocationsRunOutWithNoViableAllocation(t *testing.T) {
	s := New(Options{PortsPerNode: 1})
	for i, ext := range []string{`"a"`, `"b"`} {
		if a := app(t, s, "POST", "/api/application/servers", serverBody(ext)); a.status != 201 {
			t.Fatalf("create %d: %d %+v", i, a.status, a.errors)
		}
	}
	app(t, s, "POST", "/api/application/servers", serverBody(`"c"`)).onlyError(t, 400, "NoViableAllocationException")
	app(t, s, "DELETE", "/api/application/servers/1", "")
	if a := app(t, s, "POST", "/api/application/servers", serverBody(`"c"`)); a.status != 201 {
		t.Fatalf("create after a delete freed a port: %d %+v", a.status, a.errors)
	}
}

func TestIDsAreDeterministic(t *testing.T) {
	ident := func() string {
		s := New(Options{})
		return app(t, s, "POST", "/api/application/servers", serverBody(`"x"`)).body["attributes"].(map[string]any)["uuid"].(string)
	}
	if a, b := ident(), ident(); a != b || len(a) != 36 {
		t.Fatalf("uuids %q and %q, want the same 36-char uuid", a, b)
	}
}
