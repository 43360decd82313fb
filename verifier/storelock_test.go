package verifier

import (
	"errors"
	"strings"
	"testing"

	"github.com/yinzheng-id/yinzheng/revocation"
)

func TestNewWhileOpenSaysStopTheServiceFirst(t *testing.T) {
	dir := t.TempDir()
	opts := storeTestOptions(t, dir)
	v, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := New(opts); !errors.Is(err, revocation.ErrLocked) || !strings.Contains(err.Error(), "stop the service") {
		t.Fatalf("second New: err = %v, want ErrLocked saying to stop the service first", err)
	}
}
