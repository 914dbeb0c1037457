package testcert

import (
	"crypto/ecdsa"
	"crypto/x509"
	"os"
	"reflect"
	"testing"
	"time"
)

func TestTemplateDefaults(t *testing.T) {
	key := NewKey(t, P256) // fast, and shared: only the certificates differ here
	ca := New(t, Template{Name: "ca", CA: true, Key: key})
	tests := []struct {
		name string
		tmpl Template
		ku   x509.KeyUsage
		eku  []x509.ExtKeyUsage
	}{
		{"leaf", Template{Name: "leaf", Key: key}, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}},
		{"ca", Template{Name: "ca", CA: true, Key: key}, x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, nil},
		{"no usages", Template{Name: "bare", Key: key, KeyUsage: NoKeyUsage, ExtKeyUsage: []x509.ExtKeyUsage{}}, 0, nil},
		{"issued", Template{Name: "issued", Key: key, Issuer: ca}, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}},
	}
	for _, tc := range tests {
		id := New(t, tc.tmpl)
		c := id.Cert
		if c.KeyUsage != tc.ku || !reflect.DeepEqual(c.ExtKeyUsage, tc.eku) || c.IsCA != tc.tmpl.CA {
			t.Errorf("%s: key usage %v, extended %v, CA %v", tc.name, c.KeyUsage, c.ExtKeyUsage, c.IsCA)
		}
		if !c.NotBefore.Equal(DefaultNotBefore) || !c.NotAfter.Equal(DefaultNotAfter) {
			t.Errorf("%s: valid %v to %v", tc.name, c.NotBefore, c.NotAfter)
		}
		if tc.tmpl.Issuer != nil {
			if err := c.CheckSignatureFrom(ca.Cert); err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
		fi, err := os.Stat(id.KeyPath)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: key file %v %v", tc.name, fi, err)
		}
		if _, err := os.Stat(id.CertPath); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// Serials differ, so issuer and serial name each certificate.
	a, b := New(t, Template{Key: key}), New(t, Template{Key: key})
	if a.Cert.SerialNumber.Cmp(b.Cert.SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
	expired := New(t, Template{Key: key, NotAfter: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)})
	if expired.Cert.NotAfter.Year() != 2001 {
		t.Errorf("NotAfter %v", expired.Cert.NotAfter)
	}
	if _, ok := key.(*ecdsa.PrivateKey); !ok {
		t.Errorf("P256 gave %T", key)
	}
}
