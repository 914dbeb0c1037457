package pkcs7

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
)

// Detached, attribute-less signatures verify over the content, come out
// the same twice (RSA and RFC 6979 ECDSA), and leave the content out.
func TestSignDetached(t *testing.T) {
	content := []byte("payload")
	for _, kind := range []testcert.Kind{testcert.RSA2048, testcert.P256} {
		id := testcert.New(t, testcert.Template{Name: "t", Kind: kind})
		key, cert := id.Key, id.Cert
		sign := func() []byte {
			sd, err := Sign(key, []*x509.Certificate{cert}, Content{Type: OIDData, DER: content, Detached: true}, nil)
			if err != nil {
				t.Fatal(err)
			}
			der, err := sd.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			return der
		}
		a, b := sign(), sign()
		if !bytes.Equal(a, b) {
			t.Fatalf("%T: two signatures differ", key)
		}
		var sd SignedData
		if _, err := asn1.Unmarshal(a, &sd); err != nil {
			t.Fatal(err)
		}
		if len(sd.ContentInfo.Content.Bytes) != 0 || len(sd.SignerInfos) != 1 {
			t.Fatalf("%T: content carried or signer count %d", key, len(sd.SignerInfos))
		}
		alg := x509.SHA256WithRSA
		if _, ok := key.(*ecdsa.PrivateKey); ok {
			alg = x509.ECDSAWithSHA256
		}
		if err := cert.CheckSignature(alg, content, sd.SignerInfos[0].EncryptedDigest); err != nil {
			t.Fatalf("%T: %v", key, err)
		}
	}
}

// With attributes the signature covers the attribute SET, stored [0].
func TestSignWithAttributes(t *testing.T) {
	id := testcert.New(t, testcert.Template{Name: "t"})
	key, cert := id.Key, id.Cert
	digest := sha256.Sum256([]byte("content"))
	md, _ := asn1.Marshal(digest[:])
	attr, _ := asn1.Marshal(Attribute{Type: OIDAttributeMessageDigest, Values: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: md}})
	attrs, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: attr})
	sd, err := Sign(key, []*x509.Certificate{cert}, Content{Type: OIDData, DER: []byte{0x04, 0x01, 0x00}}, attrs)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignature(x509.SHA256WithRSA, attrs, sd.SignerInfos[0].EncryptedDigest); err != nil {
		t.Fatal(err)
	}
	if sd.SignerInfos[0].AuthenticatedAttributes.Tag != 0 || !bytes.Equal(sd.SignerInfos[0].AuthenticatedAttributes.Bytes, attr) {
		t.Fatal("attributes not stored as [0] with the SET's contents")
	}
	if _, err := sd.MarshalContentInfo(); err != nil {
		t.Fatal(err)
	}
}

func TestSignRefuses(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := Sign(edKey, []*x509.Certificate{{}}, Content{Type: OIDData}, nil); !errors.Is(err, ErrUnsupportedKey) {
		t.Fatalf("ed25519: %v", err)
	}
	if _, err := Sign(testcert.NewKey(t, testcert.RSA2048), nil, Content{Type: OIDData}, nil); err == nil {
		t.Fatal("no certificate accepted")
	}
}
