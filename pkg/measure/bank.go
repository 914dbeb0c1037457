package measure

import (
	"crypto"
	_ "crypto/sha1" // register the bank hashes with crypto.Hash
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-tpm/tpm2"
)

// Bank is a TPM PCR bank, named by its hash algorithm.
type Bank int

// The banks systemd-measure knows. Their order is systemd-measure's output
// order (it sorts the bank names).
const (
	SHA1 Bank = iota + 1
	SHA256
	SHA384
	SHA512
)

// AllBanks are the banks systemd-measure uses when none is selected.
var AllBanks = []Bank{SHA1, SHA256, SHA384, SHA512}

var bankInfo = map[Bank]struct {
	name string
	hash crypto.Hash
	alg  tpm2.TPMAlgID
}{
	SHA1:   {"sha1", crypto.SHA1, tpm2.TPMAlgSHA1},
	SHA256: {"sha256", crypto.SHA256, tpm2.TPMAlgSHA256},
	SHA384: {"sha384", crypto.SHA384, tpm2.TPMAlgSHA384},
	SHA512: {"sha512", crypto.SHA512, tpm2.TPMAlgSHA512},
}

// String returns the lower-case name systemd uses in JSON ("sha256").
func (b Bank) String() string {
	if i, ok := bankInfo[b]; ok {
		return i.name
	}
	return fmt.Sprintf("Bank(%d)", int(b))
}

// Hash returns the bank's hash function.
func (b Bank) Hash() crypto.Hash { return bankInfo[b].hash }

// Size is the size of the bank's PCR values in bytes.
func (b Bank) Size() int { return bankInfo[b].hash.Size() }

// TPMAlg is the bank's TPM_ALG_ID (TPM 2.0 Part 2, 6.3).
func (b Bank) TPMAlg() tpm2.TPMAlgID { return bankInfo[b].alg }

func (b Bank) valid() bool { _, ok := bankInfo[b]; return ok }

// ParseBank parses a bank name, case-insensitively ("sha256", "SHA256").
func ParseBank(s string) (Bank, error) {
	for b, i := range bankInfo {
		if strings.EqualFold(s, i.name) {
			return b, nil
		}
	}
	return 0, fmt.Errorf("%q: %w", s, ErrUnknownBank)
}

// ParseBanks parses bank names; each argument may itself hold several,
// separated by commas or white space (as ukify's --pcr-banks). The result
// is sorted and without duplicates, as systemd-measure orders banks; no
// argument at all gives AllBanks.
func ParseBanks(args ...string) ([]Bank, error) {
	var banks []Bank
	for _, a := range args {
		for _, f := range splitList(a) {
			b, err := ParseBank(f)
			if err != nil {
				return nil, err
			}
			banks = append(banks, b)
		}
	}
	if len(banks) == 0 {
		return slices.Clone(AllBanks), nil
	}
	slices.Sort(banks)
	return slices.Compact(banks), nil
}

// splitList splits on commas and white space, dropping empty fields.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
}
