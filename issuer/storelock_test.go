package issuer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/yinzheng-id/yinzheng/jose"
	"github.com/yinzheng-id/yinzheng/revocation"
)

func TestOpenWhileOpenSaysStopTheServiceFirst(t *testing.T) {
	_, dir := newTestIssuer(t, jose.SuiteGM)
	again, err := open(dir, testPass, func() time.Time { return testNow })
	if err == nil {
		again.Close()
		t.Fatal("a second open of an issuer directory in use succeeded")
	}
	if !errors.Is(err, revocation.ErrLocked) || !strings.Contains(err.Error(), "stop the service") {
		t.Fatalf("err = %v, want ErrLocked saying to stop the service first", err)
	}
}
