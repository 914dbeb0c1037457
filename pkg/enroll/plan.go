package enroll

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
	"github.com/nix-boot-security/nix-boot-security/pkg/sbkeys"
)

// Write is one variable to enroll.
type Write struct {
	Variable efivar.Variable
	// Lists are the signature lists written; Data is their encoding.
	Lists []efivar.SignatureList
	Data  []byte
	// SignedBy is the role whose key signs the write (PK signs PK and KEK,
	// KEK signs db), as firmware in user mode would require.
	SignedBy sbkeys.Role
	// Time is the write's timestamp.
	Time time.Time
	// Auth is the signed write (EFI_VARIABLE_AUTHENTICATION_2 and Data),
	// set by Sign; the offline store needs none.
	Auth []byte
}

// PlanOptions say what to enroll besides the key set's own certificates.
type PlanOptions struct {
	// Microsoft holds signature lists to add to KEK and db (MicrosoftFrom).
	Microsoft *Microsoft
	// ExtraDB are more certificates for db after the db key's own, e.g.
	// an organisation CA whose machine certificates sign the images.
	ExtraDB []*x509.Certificate
	// Time is the timestamp of every write (time.Now when zero).
	Time time.Time
}

// Plan returns the writes that enroll set: db (the db certificate, the
// extra ones, then Microsoft's), KEK (the KEK certificate, then Microsoft's), PK. PK is
// last: once it is written the firmware leaves setup mode and checks
// every later write against it.
func Plan(set *sbkeys.KeySet, o PlanOptions) ([]Write, error) {
	ts := o.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	ts = ts.UTC().Truncate(time.Second)
	own := func(c *x509.Certificate) []efivar.SignatureList {
		return []efivar.SignatureList{efivar.X509List(set.Owner, c.Raw)}
	}
	db, kek := own(set.DB.Cert), own(set.KEK.Cert)
	for _, c := range o.ExtraDB {
		db = append(db, own(c)...)
	}
	if o.Microsoft != nil {
		db = append(db, o.Microsoft.DB...)
		kek = append(kek, o.Microsoft.KEK...)
	}
	plan := []struct {
		v      efivar.Variable
		lists  []efivar.SignatureList
		signer sbkeys.Role
	}{
		{efivar.DB, db, sbkeys.KEK},
		{efivar.KEK, kek, sbkeys.PK},
		{efivar.PK, own(set.PK.Cert), sbkeys.PK},
	}
	var writes []Write
	for _, p := range plan {
		data, err := efivar.MarshalSignatureLists(p.lists...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.v.Name, err)
		}
		writes = append(writes, Write{Variable: p.v, Lists: p.lists, Data: data, SignedBy: p.signer, Time: ts})
	}
	return writes, nil
}

// Sign signs each write with the key of its SignedBy role in set.
func Sign(writes []Write, set *sbkeys.KeySet) error {
	for i := range writes {
		w := &writes[i]
		signer := set.Pair(w.SignedBy)
		if signer.Key == nil {
			return fmt.Errorf("%s: no %s private key to sign it", w.Variable.Name, w.SignedBy)
		}
		auth, err := efivar.Sign(w.Variable, w.Data, w.Time, signer.Key, signer.Cert)
		if err != nil {
			return err
		}
		w.Auth = auth
	}
	return nil
}
