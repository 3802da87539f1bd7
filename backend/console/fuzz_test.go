package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/keygate/keygate/backend/problem"
)

// fuzzPathValue fills every path wildcard, so the fuzzer can see whether a body or a query
// string manages to override one.
const fuzzPathValue = "path-value"

// decodeFor runs decode for table[i] the way serveOp does: body for POST/PUT/PATCH, query
// string for GET/DELETE, path parameters set.
func decodeFor(o Operation, body []byte, rawQuery, contentType string) (any, error) {
	r := httptest.NewRequest(o.Method, "/x", bytes.NewReader(body))
	r.URL.RawQuery = rawQuery
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for _, p := range o.PathParams() {
		r.SetPathValue(p, fuzzPathValue)
	}
	return decode(httptest.NewRecorder(), r, o)
}

// knownName reports whether encoding/json would match key to one of fields. encoding/json
// matches names case-insensitively, so {"NAME":…} sets "name"; it is a known field spelt
// differently, not an unknown one.
func knownName(key string, fields []jsonField) bool {
	for _, f := range fields {
		if f.name == key || strings.EqualFold(f.name, key) {
			return true
		}
	}
	return false
}

// FuzzDecode feeds every console operation arbitrary bodies and query strings. It must never
// panic; a refusal is a 400, 413 or 415 problem; what is accepted has no unknown field and
// cannot override a path parameter.
func FuzzDecode(f *testing.F) {
	for i, o := range table {
		zero, _ := json.Marshal(reflect.New(o.In).Interface())
		f.Add(uint8(i), zero, "", "application/json")
		f.Add(uint8(i), []byte(`{"unknownField":1}`), "unknownField=1", "application/json")
	}
	f.Add(uint8(0), []byte(`{"name":"a","name":"b"}`), "limit=10&limit=20", "application/json; charset=utf-8")
	f.Add(uint8(1), []byte(`{"org":"x"} trailing`), "status=active", "text/plain")
	f.Add(uint8(2), []byte(`[1,2,3]`), "%zz", "application/json")
	f.Fuzz(func(t *testing.T, i uint8, body []byte, rawQuery, contentType string) {
		o := table[int(i)%len(table)]
		v, err := decodeFor(o, body, rawQuery, contentType)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: error %T %v is not a console *Error", o.Name, err, err)
			}
			switch e.Status {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			default:
				t.Fatalf("%s: refused with status %d (%s)", o.Name, e.Status, e.Code)
			}
			return
		}
		if reflect.TypeOf(v) != reflect.PointerTo(o.In) {
			t.Fatalf("%s: decoded %T, want *%v", o.Name, v, o.In)
		}
		fields := jsonFields(o.In)
		byName := map[string]jsonField{}
		for _, fl := range fields {
			byName[fl.name] = fl
		}
		path := map[string]bool{}
		for _, p := range o.PathParams() {
			path[p] = true
			if got := reflect.ValueOf(v).Elem().FieldByIndex(byName[p].index).String(); got != fuzzPathValue {
				t.Fatalf("%s: path parameter %s = %q after decoding, want the path's value", o.Name, p, got)
			}
		}
		if o.QueryInput() {
			q, _ := url.ParseQuery(rawQuery) // what r.URL.Query() gave decode
			for k := range q {
				if _, ok := byName[k]; !ok || path[k] {
					t.Fatalf("%s: accepted unknown or path query parameter %q", o.Name, k)
				}
			}
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) == nil {
			for k := range obj {
				if !knownName(k, fields) {
					t.Fatalf("%s: accepted unknown field %q in %s", o.Name, k, body)
				}
			}
		}
	})
}

func TestDecodeRefusesOversizedBodies(t *testing.T) {
	for _, o := range table {
		if o.QueryInput() {
			continue
		}
		limit := int(o.BodyLimit())
		pad := strings.Repeat(" ", limit)
		_, err := decodeFor(o, []byte(`{`+pad+`}`), "", "application/json")
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusRequestEntityTooLarge || e.Code != problem.CodePayloadTooLarge || e.Data["Size"] == nil {
			t.Errorf("%s: a body over %d bytes gave %v, want 413 %s naming the limit", o.Name, limit, err, problem.CodePayloadTooLarge)
		}
		// Exactly at the limit the body is read (and, being JSON, accepted).
		atLimit := `{` + pad[:limit-2] + `}`
		if _, err := decodeFor(o, []byte(atLimit), "", "application/json"); err != nil {
			t.Errorf("%s: a %d-byte body was refused: %v", o.Name, len(atLimit), err)
		}
	}
}

func TestDecodeRefusesUnknownFieldsEverywhere(t *testing.T) {
	for _, o := range table {
		var err error
		if o.QueryInput() {
			_, err = decodeFor(o, nil, "surprise=1", "")
		} else {
			_, err = decodeFor(o, []byte(`{"surprise":1}`), "", "application/json")
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != problem.CodeValidation {
			t.Errorf("%s: an unknown field gave %v, want 400 %s", o.Name, err, problem.CodeValidation)
		}
	}
}
