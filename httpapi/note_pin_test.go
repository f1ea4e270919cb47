package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestPinningANoteDoesNotMarkItEdited: pinning or unpinning a staff note changes where it is
// listed, not what it says, so it is not shown as edited; changing its text is.
func TestPinningANoteDoesNotMarkItEdited(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	createUser(t, st, "sup@example.com", "password 12345", store.RoleSupport)
	cust := createUser(t, st, "noted@example.com", "password 12345", store.RoleCustomer)
	c := newBrowser(t, st)
	c.login("sup@example.com", "password 12345")
	page := fmt.Sprintf("/admin/customers/%d", cust.ID)
	if r := c.post(page+"/notes", page, url.Values{"body": {"Prefers email"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add note: status %d", r.Status)
	}
	notes, err := st.Store.CustomerNotes(context.Background(), cust.ID)
	if err != nil || len(notes) != 1 {
		t.Fatalf("notes: %+v (%v)", notes, err)
	}
	note := notes[0]
	time.Sleep(1100 * time.Millisecond) // past the second within which a change does not count as an edit
	pin := fmt.Sprintf("%s/notes/%d/pin", page, note.ID)
	if r := c.post(pin, page, url.Values{"pinned": {"on"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("pin: status %d", r.Status)
	}
	if r := c.post(pin, page, url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("unpin: status %d", r.Status)
	}
	if r := c.post(pin, page, url.Values{"pinned": {"on"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("pin again: status %d", r.Status)
	}
	if body := c.get(page).Body; strings.Contains(body, "· edited") {
		t.Error("after pinning, the note is shown as edited")
	}
	if r := c.post(fmt.Sprintf("%s/notes/%d", page, note.ID), page, url.Values{"body": {"Prefers email, mornings"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("edit: status %d", r.Status)
	}
	if body := c.get(page).Body; !strings.Contains(body, "· edited") {
		t.Error("after changing its text, the note is not shown as edited")
	}
}
