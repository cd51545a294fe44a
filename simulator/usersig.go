package simulator

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// Written from the reference's description of TLSSigAPIv2, deliberately
// without Tencent's module or the client's code, so that the simulator checks
// what the service checks rather than echoing the client.

// sigDoc is the JSON document inside a UserSig. Numbers are decoded as
// json.Number so that both integer and (as some SDKs write) string forms
// parse, as the server's own parser is lenient about key order and spacing.
type sigDoc struct {
	Ver        string      `json:"TLS.ver"`
	Identifier string      `json:"TLS.identifier"`
	SDKAppID   json.Number `json:"TLS.sdkappid"`
	Time       json.Number `json:"TLS.time"`
	Expire     json.Number `json:"TLS.expire"`
	Sig        string      `json:"TLS.sig"`
}

type parsedSig struct {
	identifier string
	sdkappid   uint64
	time       int64
	expire     int64
	mac        []byte
}

var errUndecodable = errors.New("usersig undecodable")

// maxSigBytes bounds the decompressed document: a real one is ~200 bytes, and
// a zlib bomb must not cost the simulator memory.
const maxSigBytes = 4 << 10

func decodeUserSig(token string) (*parsedSig, error) {
	std := strings.NewReplacer("*", "+", "-", "/", "_", "=").Replace(token)
	raw, err := base64.StdEncoding.DecodeString(std)
	if err != nil {
		return nil, errUndecodable
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, errUndecodable
	}
	doc, err := io.ReadAll(io.LimitReader(zr, maxSigBytes))
	if err != nil {
		return nil, errUndecodable
	}
	var d sigDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, errUndecodable
	}
	p := &parsedSig{identifier: d.Identifier}
	if p.sdkappid, err = strconv.ParseUint(d.SDKAppID.String(), 10, 64); err != nil {
		return nil, errUndecodable
	}
	if p.time, err = strconv.ParseInt(d.Time.String(), 10, 64); err != nil {
		return nil, errUndecodable
	}
	if p.expire, err = strconv.ParseInt(d.Expire.String(), 10, 64); err != nil {
		return nil, errUndecodable
	}
	if p.mac, err = base64.StdEncoding.DecodeString(d.Sig); err != nil || len(p.mac) != sha256.Size {
		return nil, errUndecodable
	}
	if d.Ver != "2.0" || d.Identifier == "" {
		return nil, errUndecodable
	}
	return p, nil
}

// expectedMAC is HMAC-SHA256 over the four lines of the reference, with the
// key's string bytes as the key (not hex-decoded).
func expectedMAC(key string, p *parsedSig) []byte {
	m := hmac.New(sha256.New, []byte(key))
	io.WriteString(m, "TLS.identifier:"+p.identifier+"\n"+
		"TLS.sdkappid:"+strconv.FormatUint(p.sdkappid, 10)+"\n"+
		"TLS.time:"+strconv.FormatInt(p.time, 10)+"\n"+
		"TLS.expire:"+strconv.FormatInt(p.expire, 10)+"\n")
	return m.Sum(nil)
}

// checkUserSig returns the documented code for a bad UserSig, 60010 for a
// good one of an identifier that is not the admin, or 0.
func (a *App) checkUserSig(identifier, token string, now time.Time) int {
	if token == "" {
		return 70003
	}
	p, err := decodeUserSig(token)
	if err != nil {
		return 70003
	}
	if p.sdkappid != a.cfg.SDKAppID {
		return 70014
	}
	if p.identifier != identifier {
		return 70013
	}
	if !hmac.Equal(p.mac, expectedMAC(a.cfg.SecretKey, p)) {
		return 70009
	}
	if now.Unix() > p.time+p.expire {
		return 70001
	}
	if identifier != a.cfg.Identifier {
		return 60010
	}
	return 0
}
