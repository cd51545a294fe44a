package tencentchat

import (
	"errors"
	"sync"
	"time"

	"github.com/tencentyun/tls-sig-api-v2-golang/tencentyun"
)

// renewFraction is the share of a UserSig's lifetime after which a new one is
// signed, so a signature never reaches the server close to its expiry (clock
// skew between us and Tencent would otherwise turn it into 70001).
const renewFraction = 0.8

// signFunc has the shape of tencentyun.GenUserSig; tests swap it to count
// signatures, since two tokens signed in the same second are identical.
type signFunc func(sdkappid int, key, identifier string, expire int) (string, error)

// signer caches one UserSig per app. It is safe for concurrent use.
type signer struct {
	sdkappid   int
	identifier string
	key        string
	ttl        time.Duration
	now        func() time.Time
	sign       signFunc

	mu       sync.Mutex
	sig      string
	signedAt time.Time
}

func newSigner(sdkappid uint64, identifier, key string, ttl time.Duration) *signer {
	return &signer{
		sdkappid:   int(sdkappid),
		identifier: identifier,
		key:        key,
		ttl:        ttl,
		now:        time.Now,
		sign:       tencentyun.GenUserSig,
	}
}

// errSign never wraps the library's error: it is not known to be free of the
// key, and the key must never reach a log.
var errSign = errors.New("cannot sign a UserSig")

// get returns the cached UserSig, signing a new one when there is none or the
// cached one has lived renewFraction of its lifetime.
func (s *signer) get() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.sig != "" && now.Sub(s.signedAt) < time.Duration(float64(s.ttl)*renewFraction) {
		return s.sig, nil
	}
	sig, err := s.sign(s.sdkappid, s.key, s.identifier, int(s.ttl/time.Second))
	if err != nil {
		return "", errSign
	}
	s.sig, s.signedAt = sig, now
	return sig, nil
}

// invalidate drops the cached UserSig if it is still the one that failed, so
// that concurrent calls that all saw 70001 cause one new signature, not many.
func (s *signer) invalidate(failed string) {
	s.mu.Lock()
	if s.sig == failed {
		s.sig = ""
	}
	s.mu.Unlock()
}
