package measure

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// SignedPolicy is one entry of a .pcrsig: a signature over the PolicyPCR
// digest of one PCR state.
type SignedPolicy struct {
	// PCRs are the PCR indexes the policy covers ("pcrs"), [11] here.
	PCRs []int
	// KeyFingerprint is the signer's Fingerprint ("pkfp").
	KeyFingerprint []byte
	// Policy is the PolicyPCRDigest signed ("pol").
	Policy []byte
	// Signature is RSASSA-PKCS1-v1_5 over H(Policy), H the bank's hash
	// ("sig"), as systemd-measure makes it.
	Signature []byte
}

// BankSignatures are the entries of one bank.
type BankSignatures struct {
	Bank    Bank
	Entries []SignedPolicy
}

// PCRSig is the content of a UKI's .pcrsig section and of
// /.extra/tpm2-pcr-signature.json: per bank, a list of signed policies.
// Bank order is kept, since it is part of the bytes.
type PCRSig struct {
	Banks []BankSignatures
}

// Entries returns the entries of bank b.
func (s PCRSig) Entries(b Bank) []SignedPolicy {
	for _, bs := range s.Banks {
		if bs.Bank == b {
			return bs.Entries
		}
	}
	return nil
}

// appendEntry appends e to bank b, adding the bank at the end if new.
func (s *PCRSig) appendEntry(b Bank, e SignedPolicy) {
	for i := range s.Banks {
		if s.Banks[i].Bank == b {
			s.Banks[i].Entries = append(s.Banks[i].Entries, e)
			return
		}
	}
	s.Banks = append(s.Banks, BankSignatures{Bank: b, Entries: []SignedPolicy{e}})
}

// add appends e to bank b unless an equal entry is there already.
func (s *PCRSig) add(b Bank, e SignedPolicy) {
	for i := range s.Banks {
		if s.Banks[i].Bank == b {
			if !slices.ContainsFunc(s.Banks[i].Entries, e.equal) {
				s.Banks[i].Entries = append(s.Banks[i].Entries, e)
			}
			return
		}
	}
	s.Banks = append(s.Banks, BankSignatures{Bank: b, Entries: []SignedPolicy{e}})
}

func (e SignedPolicy) equal(o SignedPolicy) bool {
	return slices.Equal(e.PCRs, o.PCRs) && bytes.Equal(e.KeyFingerprint, o.KeyFingerprint) &&
		bytes.Equal(e.Policy, o.Policy) && bytes.Equal(e.Signature, o.Signature)
}

// Combine merges signature sets as ukify does for several
// --pcr-private-key/--phases groups: banks in order of first appearance,
// entries appended in order, exact duplicates dropped.
func Combine(sigs ...PCRSig) PCRSig {
	var out PCRSig
	for _, s := range sigs {
		for _, bs := range s.Banks {
			for _, e := range bs.Entries {
				out.add(bs.Bank, e)
			}
		}
	}
	return out
}

// MarshalJSON encodes the set as systemd-measure sign --json=short does:
// {"sha256":[{"pcrs":[11],"pkfp":"<hex>","pol":"<hex>","sig":"<base64>"}]}.
func (s PCRSig) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, bs := range s.Banks {
		if !bs.Bank.valid() {
			return nil, fmt.Errorf("%s: %w", bs.Bank, ErrUnknownBank)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `"%s":[`, bs.Bank)
		for j, e := range bs.Entries {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(`{"pcrs":[`)
			for k, p := range e.PCRs {
				if k > 0 {
					buf.WriteByte(',')
				}
				fmt.Fprintf(&buf, "%d", p)
			}
			fmt.Fprintf(&buf, `],"pkfp":"%s","pol":"%s","sig":"%s"}`,
				hex.EncodeToString(e.KeyFingerprint), hex.EncodeToString(e.Policy),
				base64.StdEncoding.EncodeToString(e.Signature))
		}
		buf.WriteByte(']')
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// maxPCRSig bounds what ParsePCRSig reads: a real .pcrsig is a few KiB per
// key and phase.
const maxPCRSig = 16 << 20

// rawEntry is an entry as it appears in JSON.
type rawEntry struct {
	PCRs *[]int  `json:"pcrs"`
	PKFP *string `json:"pkfp"`
	Pol  *string `json:"pol"`
	Sig  *string `json:"sig"`
}

// ParsePCRSig parses a .pcrsig (systemd's JSON, compact or pretty). Any
// deviation from the format (not JSON, not an object of known bank names
// holding arrays of complete entries, bad hex or base64, PCR index outside
// 0..23) is an ErrInvalidPCRSig error naming the place.
func ParsePCRSig(data []byte) (PCRSig, error) {
	if len(data) > maxPCRSig {
		return PCRSig{}, fmt.Errorf("%w: %d bytes is larger than %d", ErrInvalidPCRSig, len(data), maxPCRSig)
	}
	// A section's raw data may carry NUL padding after the JSON.
	data = bytes.TrimRight(data, "\x00")
	dec := json.NewDecoder(bytes.NewReader(data))
	fail := func(format string, args ...any) (PCRSig, error) {
		return PCRSig{}, fmt.Errorf("%w: %s", ErrInvalidPCRSig, fmt.Sprintf(format, args...))
	}
	tok, err := dec.Token()
	if err != nil {
		return fail("%v", jsonErr(err, dec))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fail("top level is not a JSON object")
	}
	var s PCRSig
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail("%v", jsonErr(err, dec))
		}
		key, _ := tok.(string)
		b, err := ParseBank(key)
		if err != nil {
			return fail("bank %q: %v", key, ErrUnknownBank)
		}
		if s.Entries(b) != nil {
			return fail("bank %s appears twice", b)
		}
		var raws []rawEntry
		if err := dec.Decode(&raws); err != nil {
			return fail("bank %s: %v", b, jsonErr(err, dec))
		}
		bs := BankSignatures{Bank: b, Entries: []SignedPolicy{}}
		for i, r := range raws {
			e, err := r.parse()
			if err != nil {
				return fail("bank %s entry %d: %v", b, i, err)
			}
			bs.Entries = append(bs.Entries, e)
		}
		s.Banks = append(s.Banks, bs)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fail("%v", jsonErr(err, dec))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail("data after the JSON object")
	}
	return s, nil
}

func (r rawEntry) parse() (SignedPolicy, error) {
	if r.PCRs == nil || r.PKFP == nil || r.Pol == nil || r.Sig == nil {
		return SignedPolicy{}, errors.New(`missing one of "pcrs", "pkfp", "pol", "sig"`)
	}
	for _, p := range *r.PCRs {
		if p < 0 || p > 23 {
			return SignedPolicy{}, fmt.Errorf("PCR index %d out of range 0..23", p)
		}
	}
	fp, err := hex.DecodeString(*r.PKFP)
	if err != nil {
		return SignedPolicy{}, fmt.Errorf(`"pkfp": %v`, err)
	}
	pol, err := hex.DecodeString(*r.Pol)
	if err != nil {
		return SignedPolicy{}, fmt.Errorf(`"pol": %v`, err)
	}
	sig, err := base64.StdEncoding.DecodeString(*r.Sig)
	if err != nil {
		return SignedPolicy{}, fmt.Errorf(`"sig": %v`, err)
	}
	return SignedPolicy{PCRs: slices.Clone(*r.PCRs), KeyFingerprint: fp, Policy: pol, Signature: sig}, nil
}

// jsonErr adds the byte offset to a JSON error, for a message that points
// at the problem.
func jsonErr(err error, dec *json.Decoder) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%v (at byte %d)", se, se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("unexpected end of JSON (at byte %d)", dec.InputOffset())
	}
	return err
}
