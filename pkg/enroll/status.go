package enroll

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/nix-boot-security/nix-boot-security/pkg/efivar"
)

// Status is what the firmware reports about Secure Boot.
type Status struct {
	// SecureBoot and SetupMode are the variables' values, -1 when absent.
	SecureBoot, SetupMode int
	// Enrolled lists the entries of PK, KEK, db and dbx, in that order;
	// a variable that is absent has none.
	Enrolled []Variable
}

// Variable is one signature database and what it holds.
type Variable struct {
	Name    string
	Entries []Entry
	// Err is set when the variable could not be read or parsed.
	Err error
}

// Entry is one signature: a certificate (Subject set) or a hash.
type Entry struct {
	Owner   efivar.GUID
	Type    string // "x509", "sha256" or the type GUID
	Subject string // for a certificate
	Digest  string // hex: a hash entry's value, or a certificate's SHA-256
}

// ReadStatus reads the Secure Boot variables from efivarfs. It fails only
// when SecureBoot cannot be read (no efivarfs there); problems with one
// database are reported in its Variable.Err.
func ReadStatus(e Efivarfs) (Status, error) {
	var s Status
	var err error
	if s.SecureBoot, err = optionalByte(e, efivar.SecureBoot); err != nil {
		return s, err
	}
	if s.SetupMode, err = optionalByte(e, efivar.SetupMode); err != nil {
		return s, err
	}
	for _, v := range []efivar.Variable{efivar.PK, efivar.KEK, efivar.DB, efivar.DBX} {
		ev := Variable{Name: v.Name}
		_, data, err := e.Read(v)
		switch {
		case errors.Is(err, ErrNoVariable):
		case err != nil:
			ev.Err = err
		default:
			ev.Entries, ev.Err = Entries(data)
		}
		s.Enrolled = append(s.Enrolled, ev)
	}
	return s, nil
}

func optionalByte(e Efivarfs, v efivar.Variable) (int, error) {
	b, err := e.readByte(v)
	if errors.Is(err, ErrNoVariable) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	return int(b), nil
}

// Entries describes the signatures in a database's data.
func Entries(data []byte) ([]Entry, error) {
	lists, err := efivar.ParseSignatureLists(data)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, l := range lists {
		for _, sig := range l.Signatures {
			e := Entry{Owner: sig.Owner, Type: l.Type.String()}
			switch l.Type {
			case efivar.EFI_CERT_X509_GUID:
				e.Type = "x509"
				sum := sha256.Sum256(sig.Data)
				e.Digest = hex.EncodeToString(sum[:])
				if c, err := x509.ParseCertificate(sig.Data); err == nil {
					e.Subject = c.Subject.String()
				} else {
					e.Subject = fmt.Sprintf("(unparsable certificate: %v)", err)
				}
			case efivar.EFI_CERT_SHA256_GUID:
				e.Type = "sha256"
				e.Digest = hex.EncodeToString(sig.Data)
			}
			out = append(out, e)
		}
	}
	return out, nil
}
