package issuer

import (
	"crypto/hmac"
	"encoding/base32"
	"encoding/binary"

	"github.com/emmansun/gmsm/sm3"
	"github.com/yinzheng-id/yinzheng/schemas"
)

// WanghaoLen is the length of a 网号: 20 bytes of HMAC-SM3 output (160 bits)
// in lower-case base32 without padding.
const WanghaoLen = 32

// wanghaoEncoding writes 网号s: RFC 4648 base32, lower case, no padding, so
// a 网号 is letters and digits only (Art. 2).
var wanghaoEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// deriveWanghao returns the 网号 of a document: HMAC-SM3 under the issuer's
// secret of u8(doc type code) || LP(normalised document number), truncated to
// 20 bytes. The issuer secret makes it impossible to recompute or reverse
// without the issuer; the normalisation makes it stable per document.
func deriveWanghao(secret []byte, t schemas.DocType, docNumber string) string {
	mac := hmac.New(sm3.New, secret)
	var prefix [5]byte
	prefix[0] = byte(t)
	binary.BigEndian.PutUint32(prefix[1:], uint32(len(docNumber)))
	mac.Write(prefix[:])
	mac.Write([]byte(docNumber))
	return wanghaoEncoding.EncodeToString(mac.Sum(nil)[:20])
}
