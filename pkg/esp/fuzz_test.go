package esp

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/fuzzbound"
)

// FuzzParseLoaderConf reads a loader.conf found on an ESP: the default it
// finds is one line's value, and a file LoaderConf wrote is recognised.
func FuzzParseLoaderConf(f *testing.F) {
	fuzzbound.Fuzz(f, 4, func(t *testing.T, data []byte) {
		ours, def := ParseLoaderConf(data)
		if strings.ContainsAny(def, "\n") {
			t.Fatalf("default %q spans lines", def)
		}
		if ours && !strings.HasPrefix(string(data), loaderMarker) {
			t.Fatal("a file without the marker taken for ours")
		}
		if def != "" && !strings.ContainsAny(def, "\r\t ") {
			again, d2 := ParseLoaderConf(LoaderConf(def, nil))
			if !again || d2 != def {
				t.Fatalf("LoaderConf(%q) reads back as %v %q", def, again, d2)
			}
		}
	})
}

// FuzzParseEntryName reads file names found under EFI/Linux: a name taken
// for ours is exactly what EntryName makes from its parts.
func FuzzParseEntryName(f *testing.F) {
	fuzzbound.Fuzz(f, 4, func(t *testing.T, data []byte) {
		name := string(data)
		n, spec, ok := ParseEntryName(name)
		if !ok {
			return
		}
		stem := StripCounter(name)
		hash := strings.TrimSuffix(stem[strings.LastIndexByte(stem, '-')+1:], ".efi")
		if got := EntryName(n, spec, hash, 0); got != stem {
			t.Fatalf("%q parsed as %d %q %q, which names %q", name, n, spec, hash, got)
		}
	})
}

// FuzzParseDigestRecord reads the digest record found on a partition: a
// record that parses is exactly what Marshal writes of it, so no two
// byte strings stand for one record.
func FuzzParseDigestRecord(f *testing.F) {
	fuzzbound.Fuzz(f, 8, func(t *testing.T, data []byte) {
		r, err := ParseDigestRecord(data)
		if err != nil {
			if !errors.Is(err, ErrDigestRecord) {
				t.Fatalf("error %v is not ErrDigestRecord", err)
			}
			return
		}
		if out := r.Marshal(); !bytes.Equal(out, data) {
			t.Fatalf("%q parsed, and written back as %q", data, out)
		}
		for k := range r {
			if DigestKey(k) != k {
				t.Fatalf("key %q is not in DigestKey's form", k)
			}
		}
	})
}

// TestFuzzSeeds proves the seeds are what the targets expect.
func TestFuzzSeeds(t *testing.T) {
	fuzzbound.EachSeed(t, "FuzzParseLoaderConf", func(data []byte) error {
		if _, def := ParseLoaderConf(data); def == "" {
			return errors.New("no default")
		}
		return nil
	})
	fuzzbound.EachSeed(t, "FuzzParseDigestRecord", func(data []byte) error {
		_, err := ParseDigestRecord(data)
		return err
	})
	fuzzbound.EachSeed(t, "FuzzParseEntryName", func(data []byte) error {
		if _, _, ok := ParseEntryName(string(data)); !ok {
			return errors.New("not an entry name")
		}
		return nil
	})
}
