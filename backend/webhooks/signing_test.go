package webhooks_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/backend/webhooks"
)

// The Standard Webhooks specification's published test vector: matching it is what lets any
// of the specification's receiver libraries verify Keygate's deliveries.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesSpecVector(t *testing.T) {
	got, err := webhooks.Sign(vectorSecret, vectorID, time.Unix(vectorTS, 0), []byte(vectorBody))
	if err != nil || got != vectorSig {
		t.Fatalf("Sign = %q, %v; want %q", got, err, vectorSig)
	}
	// The secret's prefix is optional on input.
	got, _ = webhooks.Sign(strings.TrimPrefix(vectorSecret, "whsec_"), vectorID, time.Unix(vectorTS, 0), []byte(vectorBody))
	if got != vectorSig {
		t.Fatalf("Sign without prefix = %q", got)
	}
}

func TestVerify(t *testing.T) {
	at := time.Unix(vectorTS, 0)
	h := func(id, ts, sig string) http.Header {
		x := http.Header{}
		x.Set("webhook-id", id)
		x.Set("webhook-timestamp", ts)
		x.Set("webhook-signature", sig)
		return x
	}
	ok := h(vectorID, "1614265330", vectorSig)
	if err := webhooks.Verify(vectorSecret, ok, []byte(vectorBody), at.Add(time.Minute)); err != nil {
		t.Fatalf("the vector does not verify: %v", err)
	}
	// Several signatures (a secret being rotated): any one that matches is enough.
	multi := h(vectorID, "1614265330", "v1,bm90IGl0 v2,xyz "+vectorSig)
	if err := webhooks.Verify(vectorSecret, multi, []byte(vectorBody), at); err != nil {
		t.Fatalf("a list holding the signature: %v", err)
	}
	other, _ := webhooks.NewSecret()
	for _, c := range []struct {
		name   string
		secret string
		h      http.Header
		body   string
		now    time.Time
		want   error
	}{
		{"altered body", vectorSecret, ok, `{"test": 2432232315}`, at, webhooks.ErrSignature},
		{"other message id", vectorSecret, h("msg_other", "1614265330", vectorSig), vectorBody, at, webhooks.ErrSignature},
		{"other timestamp", vectorSecret, h(vectorID, "1614265331", vectorSig), vectorBody, at, webhooks.ErrSignature},
		{"other secret", other, ok, vectorBody, at, webhooks.ErrSignature},
		{"v2 only", vectorSecret, h(vectorID, "1614265330", "v2,"+strings.TrimPrefix(vectorSig, "v1,")), vectorBody, at, webhooks.ErrSignature},
		{"too old", vectorSecret, ok, vectorBody, at.Add(6 * time.Minute), webhooks.ErrTimestamp},
		{"from the future", vectorSecret, ok, vectorBody, at.Add(-6 * time.Minute), webhooks.ErrTimestamp},
		{"timestamp not a number", vectorSecret, h(vectorID, "soon", vectorSig), vectorBody, at, webhooks.ErrTimestamp},
		{"no signature", vectorSecret, h(vectorID, "1614265330", ""), vectorBody, at, webhooks.ErrMissingHeaders},
		{"bad secret", "whsec_!!!", ok, vectorBody, at, webhooks.ErrSecret},
	} {
		if err := webhooks.Verify(c.secret, c.h, []byte(c.body), c.now); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestNewSecret(t *testing.T) {
	a, _ := webhooks.NewSecret()
	b, _ := webhooks.NewSecret()
	if !strings.HasPrefix(a, "whsec_") || len(a) != len("whsec_")+44 || a == b {
		t.Fatalf("secrets %q %q", a, b)
	}
	sig, err := webhooks.Sign(a, "msg_1", time.Unix(1, 0), []byte("{}"))
	if err != nil || !strings.HasPrefix(sig, "v1,") {
		t.Fatalf("Sign with a new secret: %q %v", sig, err)
	}
}
