//go:build !cgo

package signer

import (
	"context"
	"errors"
	"testing"
)

// TestNoPKCS11WithoutCgo: a program built without cgo refuses a valid
// pkcs11: reference with ErrNoPKCS11, and still reports a malformed one.
func TestNoPKCS11WithoutCgo(t *testing.T) {
	_, err := Open(context.Background(), "pkcs11:token=a;object=db?module-path=/usr/lib/softhsm/libsofthsm2.so", Options{})
	if !errors.Is(err, ErrNoPKCS11) {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), "pkcs11:object=db", Options{}); !errors.Is(err, ErrReference) {
		t.Fatal(err)
	}
}
