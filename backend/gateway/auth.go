package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/keygate/keygate/backend/keys"
	"github.com/keygate/keygate/backend/ratelimit"
	"github.com/keygate/keygate/backend/store"
)

// presented is what a request offers to authenticate with, as either engine read it.
type presented struct {
	apiKey, authorization, cookie []string // the values of those headers
	rawQuery                      string
	method, path                  string // for the scopes an operation requires
	rawPath                       string // path as sent, escaped (fast engine; std: p.std's)
	// methodOverrides are the values of the method-override headers (methodOverrideHeaders):
	// an upstream that honours one runs that method, so its scopes are required too.
	methodOverrides []string
	// fast or std is the request itself, whose body formMethods reads for a _method field on
	// a route whose scopes depend on the method; the other is nil. contentType is fast's
	// Content-Type (the last one, which is what the upstream gets).
	fast        *fasthttp.RequestCtx
	contentType string
	std         *http.Request
	// sessionOK says the console session cookie may count (SessionAllowed).
	sessionOK bool
}

// authenticate checks the credential; it returns the error code, or "" when the request may
// pass. The key's rate-limit state and any Retry-After are left in st for the answer.
func (g *Gateway) authenticate(st *reqState, rt *route, p presented) Code {
	now := g.authNow(st)
	st.now = now
	var ipKey string // (the client's key in the failed-authentication limit, when there is one)
	if g.cfg.FailedAuthLimit > 0 {
		ipKey = limiterKey(st.client)
		d, err := g.limiter.Peek(st.Context, ipKey, ratelimit.Rate{Limit: g.cfg.FailedAuthLimit, Window: time.Minute}, now)
		if err != nil {
			g.log.Warn("failed-authentication limit unavailable", "err", err)
		} else if !d.Allowed {
			st.retryAfter = d.RetryAfter
			return CodeRateLimited
		}
	}
	cred, err := extractCredential(p.apiKey, p.authorization, p.cookie, p.rawQuery, CredentialSources{
		Cookie:     p.sessionOK,
		QueryParam: rt.QueryKeyParam,
	})
	switch {
	case errors.Is(err, ErrNoCredential):
		return CodeMissingCredential
	case err != nil:
		return g.failedAuth(st, ipKey, now, CodeMalformed)
	}
	st.cred = cred.Kind
	if cred.Kind == CredentialSession && st.loop {
		return codeHandOver // sessions are looked up in the store
	}
	if cred.Kind == CredentialSession {
		if code := g.authenticateSession(st, rt, cred.Value, ipKey, now); code != "" {
			return code
		}
		return g.requireScopes(st, rt, nil, p) // a session holds no scopes
	}
	var res keys.Result
	if st.loop {
		var hit bool
		if res, hit = g.verifyCached(st, cred.Value, now); !hit {
			return codeHandOver
		}
	} else if res, err = g.cfg.Keys.Verify(st.Context, cred.Value); err != nil {
		g.log.Error("verify key", "request_id", st.requestID[0], "err", err)
		if store.IsUnavailable(err) {
			return CodeStoreUnavailable
		}
		return CodeInternal
	}
	if res.Key != nil {
		st.keyID, st.keyName, st.orgID = res.Key.ID, res.Key.Name, res.Key.OrgID
	}
	if res.Code == keys.CodeDisabled {
		// A genuine key turned off by its owner: not a failed authentication.
		return CodeDisabled
	}
	if !res.Valid {
		return g.failedAuth(st, ipKey, now, Code(res.Code))
	}
	k := res.Key
	if !k.AllowsIP(st.client) {
		return CodeIPNotAllowed
	}
	if rt.OrgID != "" && k.OrgID != rt.OrgID {
		return CodeForbidden
	}
	if st.loop && k.QuotaRemaining != nil && g.quotaInStore() {
		return codeHandOver // before anything is taken: the quota is counted in the store
	}
	st.key = k
	if code := g.requireScopes(st, rt, k.Scopes, p); code != "" {
		return code
	}
	if k.RateLimit > 0 {
		d, err := g.limiter.Take(st.Context, "key:"+k.ID, ratelimit.Rate{Limit: k.RateLimit, Window: k.RateWindow}, now)
		if err != nil {
			g.log.Warn("key rate limit unavailable", "err", err)
		} else {
			st.rate, st.rated = d, true
			if !d.Allowed {
				st.retryAfter = d.RetryAfter
				return CodeRateLimited
			}
		}
	}
	// The quota is taken last: a request refused for any other reason does not use it.
	return g.takeQuota(st, k, now)
}

// codeHandOver is authenticate's answer on an event loop (st.loop) for a check that needs the
// store or the network; it is given before anything is counted or taken for the request, which
// the loop then hands on (verdictHandOver). It never reaches a client.
const codeHandOver Code = "\x00hand-over"

// cachedVerifier is the part of keys.Service an event loop verifies with: answers from memory,
// or none.
type cachedVerifier interface {
	VerifyCached(raw string, now time.Time) (keys.Result, bool)
	QuotaInStore() bool
}

// verifyCached verifies from memory only, through the loop's own view of the cache when st
// runs on one; hit is false when the answer needs the store (or the key service cannot answer
// from memory at all).
func (g *Gateway) verifyCached(st *reqState, raw string, now time.Time) (res keys.Result, hit bool) {
	if st.loop && st.kv != nil {
		return st.kv.VerifyCached(raw, now)
	}
	cv, ok := g.cfg.Keys.(cachedVerifier)
	if !ok {
		return keys.Result{}, false
	}
	return cv.VerifyCached(raw, now)
}

// quotaInStore says taking a key's quota waits for the store (true when unknown).
func (g *Gateway) quotaInStore() bool {
	cv, ok := g.cfg.Keys.(cachedVerifier)
	return !ok || cv.QuotaInStore()
}

// authNow is the time a request's credential is checked at: on the real clock the request's
// start (one clock reading fewer), else the configured clock's.
func (g *Gateway) authNow(st *reqState) time.Time {
	if !g.realClock || st.start.IsZero() {
		return g.cfg.Clock.Now()
	}
	return st.start.UTC()
}

// HeaderQuotaRemaining tells the caller how many requests its key's quota has left after this
// one; it is on every answer to a key with a quota (0 with QUOTA_EXCEEDED).
const HeaderQuotaRemaining = "X-Keygate-Quota-Remaining"

func (g *Gateway) takeQuota(st *reqState, k *keys.Key, now time.Time) Code {
	if k.QuotaRemaining == nil {
		return ""
	}
	q, err := g.cfg.Keys.TakeQuota(st.Context, k, now)
	if err != nil {
		// A quota is a limit that must hold: without the store's answer, refuse.
		g.log.Error("take key quota", "request_id", st.requestID[0], "err", err)
		if store.IsUnavailable(err) {
			return CodeStoreUnavailable
		}
		return CodeInternal
	}
	if !q.Limited {
		return ""
	}
	st.quota, st.quotaed = q.Remaining, true
	if !q.Allowed {
		return CodeQuotaExceeded
	}
	return ""
}

// setRateHeaders writes the rate-limit state authenticate left in st (net/http engine).
func setRateHeaders(h http.Header, st *reqState) {
	if st.rated {
		h["Ratelimit-Limit"] = []string{strconv.Itoa(st.rate.Limit)}
		h["Ratelimit-Remaining"] = []string{strconv.Itoa(st.rate.Remaining)}
		h["Ratelimit-Reset"] = []string{strconv.FormatInt(ceilSeconds(st.rate.Reset), 10)}
	}
	if st.quotaed {
		h[HeaderQuotaRemaining] = []string{strconv.FormatInt(st.quota, 10)}
	}
	if st.retryAfter > 0 {
		setRetryAfter(h, st.retryAfter)
	}
}

func (g *Gateway) authenticateSession(st *reqState, rt *route, token string, ipKey string, now time.Time) Code {
	res, err := g.cfg.Sessions.VerifySession(st.Context, token)
	if err != nil {
		g.log.Error("verify session", "request_id", st.requestID[0], "err", err)
		if store.IsUnavailable(err) {
			return CodeStoreUnavailable
		}
		return CodeInternal
	}
	if res.Code != keys.CodeValid || res.UserID == "" {
		code := CodeNotFound
		switch res.Code {
		case keys.CodeExpired, keys.CodeRevoked, keys.CodeMalformed:
			code = Code(res.Code)
		}
		return g.failedAuth(st, ipKey, now, code)
	}
	st.userID = res.UserID
	// A session stands for a person, not an organization: one who belongs to none (taken out
	// of the last one, while the account and its session live on) has no API to call.
	if len(res.OrgIDs) == 0 {
		return CodeForbidden
	}
	if rt.OrgID != "" {
		member := false
		for _, o := range res.OrgIDs {
			member = member || o == rt.OrgID
		}
		if !member {
			return CodeForbidden
		}
	}
	return ""
}

// failedAuth counts a failed attempt against the client's limit and returns the answer: code,
// or RATE_LIMITED when the limit has no room for this failure. The Peek before the check lets a
// burst of concurrent guesses through; counting here, atomically, is what bounds them: of any
// number of concurrent failures, only the limit's remaining capacity learn their outcome, and
// the rest are answered 429 like any request after the limit is reached.
func (g *Gateway) failedAuth(st *reqState, ipKey string, now time.Time, code Code) Code {
	if g.cfg.FailedAuthLimit <= 0 {
		return code
	}
	d, err := g.limiter.Take(st.Context, ipKey, ratelimit.Rate{Limit: g.cfg.FailedAuthLimit, Window: time.Minute}, now)
	if err != nil {
		g.log.Warn("failed-authentication limit unavailable", "err", err)
		return code
	}
	if !d.Allowed {
		st.retryAfter = d.RetryAfter
		return CodeRateLimited
	}
	return code
}

func setRetryAfter(h http.Header, d time.Duration) {
	h["Retry-After"] = []string{strconv.FormatInt(max(ceilSeconds(d), 1), 10)}
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// sessionHeaders are the request headers SessionAllowed reads.
func (in *inbound) sessionHeaders() http.Header {
	h := make(http.Header, 2)
	if in.hasOrigin {
		h["Origin"] = []string{in.origin}
	}
	if len(in.secFetchSite) > 0 {
		h["Sec-Fetch-Site"] = in.secFetchSite
	}
	return h
}
