package console_test

import (
	"net/url"

	"github.com/keygate/keygate/backend/keys"
)

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func keysAll() keys.ListParams { return keys.ListParams{Status: keys.StatusAll} }
