package ukibuild

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nix-boot-security/nix-boot-security/internal/systemdpeer"
	"github.com/nix-boot-security/nix-boot-security/internal/testcert"
	"github.com/nix-boot-security/nix-boot-security/pkg/measure"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
	"github.com/nix-boot-security/nix-boot-security/pkg/uki"
)

const (
	profileMain   = "ID=main"
	profileRescue = "ID=rescue\nTITLE=Rescue shell\n"
	baseCmdline   = "console=ttyS0 quiet"
	rescueCmdline = "console=ttyS0 rescue"
)

// TestProfilesMatchUkify builds the same two-profile UKI with ukify and
// with Compose, on the stub of each systemd that knows profiles (257 and
// the newest), and lets ukify and systemd-measure of that version judge:
//   - ukify accepts our profile PE in --join-profile and makes the very
//     bytes it makes from its own;
//   - ReadProfilePE reads ukify's profile PE;
//   - for ukify's image, each profile's .pcrsig (ukify ran
//     systemd-measure sign per profile, all banks, default phases) is
//     what Sign makes from PredictImageProfiles: same values, same split
//     into profiles;
//   - our image has, per profile, the sections ukify's has (.sbat
//     aside: ours adds the vendor lines), and each profile's .pcrsig is
//     what that version's systemd-measure sign makes from the profile's
//     sections.
func TestProfilesMatchUkify(t *testing.T) {
	for _, major := range []int{257, systemdpeer.Newest(t).Major} {
		v := systemdpeer.Get(t, major)
		t.Run(v.String(), func(t *testing.T) {
			dir := t.TempDir()
			stub := v.Stub(t)
			copyFile(t, stub, filepath.Join(dir, "stub"))
			copyFile(t, filepath.Join(filepath.Dir(stub), "addonx64.efi.stub"), filepath.Join(dir, "addon"))
			kernel := filepath.Join(dir, "kernel")
			if err := os.WriteFile(kernel, bytes.Repeat([]byte("kernel-"), 7001), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "initrd"), bytes.Repeat([]byte("initrd-"), 3001), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "osrel"), []byte("ID=nixos\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			key := testcert.NewKey(t, testcert.RSA2048).(*rsa.PrivateKey)
			testcert.WriteKey(t, filepath.Join(dir, "key.pem"), key)
			// The public key given, as ukify would otherwise derive it with
			// systemd-keyutil (not in the root); the PEM Compose puts in
			// .pcrpkey, so both images carry the same bytes.
			pub, err := measure.PublicKeyPEM(&key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "pub.pem"), pub, 0o644); err != nil {
				t.Fatal(err)
			}

			ukify := func(args ...string) {
				v.Run(t, dir, nil, systemdpeer.Ukify, append([]string{"build"}, args...)...)
			}
			ukify("--stub=addon", "--profile="+profileRescue, "--cmdline="+rescueCmdline, "--output=p1-ukify.efi")
			joined := func(profilePE, out string) {
				ukify("--stub=stub", "--linux=kernel", "--initrd=initrd", "--os-release=@osrel", "--cmdline="+baseCmdline,
					"--uname=6.1.0-test", "--profile="+profileMain, "--join-profile="+profilePE,
					"--pcr-private-key=key.pem", "--pcr-public-key=pub.pem", "--pcr-banks=sha1,sha256,sha384,sha512", "--output="+out)
			}
			joined("p1-ukify.efi", "ukify.efi")

			// Our profile PE, joined by ukify: the same image.
			stubBytes := readFile(t, filepath.Join(dir, "stub"))
			p1, err := ComposeProfile(stubBytes, Profile{Profile: []byte(profileRescue), Cmdline: []byte(rescueCmdline)})
			if err != nil {
				t.Fatal(err)
			}
			writeUKI(t, p1, filepath.Join(dir, "p1-ours.efi"))
			joined("p1-ours.efi", "ukify-ours-profile.efi")
			if !bytes.Equal(readFile(t, filepath.Join(dir, "ukify.efi")), readFile(t, filepath.Join(dir, "ukify-ours-profile.efi"))) {
				t.Errorf("ukify makes another image from our profile PE than from its own")
			}

			// ukify's image: its per-profile .pcrsig is our prediction, signed.
			uf := openPE(t, filepath.Join(dir, "ukify.efi"))
			upreds, err := measure.PredictImageProfiles(uf, measure.AllBanks, measure.DefaultPhases())
			if err != nil {
				t.Fatal(err)
			}
			if len(upreds) != 2 {
				t.Fatalf("%d profiles predicted in ukify's image, want 2", len(upreds))
			}
			for i, pred := range upreds {
				checkPCRSig(t, uf, i, pred, key, "ukify's image")
			}

			// Ours, from the same inputs and ukify's profile PE.
			prof, err := ReadProfilePE(filepath.Join(dir, "p1-ukify.efi"))
			if err != nil {
				t.Fatal(err)
			}
			img, err := Compose(Inputs{
				Stub: stubBytes, Linux: kernel, Initrds: []string{filepath.Join(dir, "initrd")},
				Cmdline: []byte(baseCmdline), OSRelease: []byte("ID=nixos\n"), Uname: []byte("6.1.0-test"),
				Profile: []byte(profileMain), Profiles: []Profile{prof},
				PCR: PCR{Groups: []measure.KeyGroup{{Key: key}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			writeUKI(t, img, filepath.Join(dir, "ours.efi"))
			of := openPE(t, filepath.Join(dir, "ours.efi"))
			opreds, err := measure.PredictImageProfiles(of, measure.AllBanks, measure.DefaultPhases())
			if err != nil {
				t.Fatal(err)
			}
			for i, pred := range opreds {
				checkPCRSig(t, of, i, pred, key, "our image")
				if got, want := profileDigests(t, of, i), profileDigests(t, uf, i); !mapsEqualBut(got, want, uki.SectionSBAT, uki.SectionPCRSig) {
					t.Errorf("profile %d: our sections %v, ukify's %v", i, got, want)
				}
				// systemd-measure sign of this version over the profile's
				// sections gives the profile's .pcrsig.
				args := []string{"sign", "--json=short", "--private-key=key.pem", "--bank=sha1", "--bank=sha256", "--bank=sha384", "--bank=sha512"}
				for _, s := range profileSections(of, i) {
					if s.NameString() == uki.SectionPCRSig {
						continue
					}
					name := "sec" + s.NameString()
					b, err := of.SectionData(&s, int64(s.VirtualSize))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, name), b[:min(len(b), int(s.VirtualSize))], 0o644); err != nil {
						t.Fatal(err)
					}
					args = append(args, "--"+s.NameString()[1:]+"="+name)
				}
				want := bytes.TrimSpace(v.Run(t, dir, nil, systemdpeer.Measure, args...))
				got, err := measure.ReadImageProfilePCRSig(of, i)
				if err != nil {
					t.Fatal(err)
				}
				gotJSON, _ := got.MarshalJSON()
				if !bytes.Equal(gotJSON, want) {
					t.Errorf("profile %d: our .pcrsig is not systemd-measure %s sign's\n got: %.200s\nwant: %.200s", i, v, gotJSON, want)
				}
			}
			t.Logf("systemd %s: 2 profiles, 4 banks x %d phases: ukify's and our images measure and sign alike", v, len(measure.DefaultPhases()))
		})
	}
}

// checkPCRSig: the .pcrsig of profile i is Sign of the prediction.
func checkPCRSig(t *testing.T, f *pe.File, i int, pred *measure.Prediction, key *rsa.PrivateKey, what string) {
	t.Helper()
	got, err := measure.ReadImageProfilePCRSig(f, i)
	if err != nil || got == nil {
		t.Fatalf("%s: profile %d: .pcrsig %v, %v", what, i, got, err)
	}
	want, err := measure.Sign(key, nil, pred)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := got.MarshalJSON()
	w, _ := want.MarshalJSON()
	if !bytes.Equal(g, w) {
		t.Errorf("%s: profile %d: .pcrsig does not sign the predicted values\n got: %.200s\nwant: %.200s", what, i, g, w)
	}
}

// profileSections are the UKI sections the stub sees for profile i (-1:
// an image without profiles, all of them).
func profileSections(f *pe.File, i int) []pe.SectionHeader {
	var base []pe.SectionHeader
	var profiles [][]pe.SectionHeader
	for _, s := range f.Sections {
		if !slices.Contains(uki.CanonicalOrder, s.NameString()) {
			continue
		}
		switch {
		case s.NameString() == uki.SectionProfile:
			profiles = append(profiles, []pe.SectionHeader{s})
		case len(profiles) > 0:
			profiles[len(profiles)-1] = append(profiles[len(profiles)-1], s)
		default:
			base = append(base, s)
		}
	}
	if i < 0 {
		return base
	}
	out := slices.Clone(profiles[i])
	for _, b := range base {
		if !slices.ContainsFunc(out, func(s pe.SectionHeader) bool { return s.NameString() == b.NameString() }) {
			out = append(out, b)
		}
	}
	return out
}

func profileDigests(t *testing.T, f *pe.File, i int) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, s := range profileSections(f, i) {
		b, err := f.SectionData(&s, int64(s.VirtualSize))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b[:min(len(b), int(s.VirtualSize))])
		m[s.NameString()] = hex.EncodeToString(sum[:8])
	}
	return m
}

func mapsEqualBut(a, b map[string]string, skip ...string) bool {
	for k, v := range a {
		if !slices.Contains(skip, k) && b[k] != v {
			return false
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok && !slices.Contains(skip, k) {
			return false
		}
	}
	return true
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.WriteFile(to, readFile(t, from), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeUKI(t *testing.T, u *UKI, path string) {
	t.Helper()
	b, err := u.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func openPE(t *testing.T, path string) *pe.File {
	t.Helper()
	b := readFile(t, path)
	f, err := pe.NewFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestNoProfileMatchesUkify: without profiles too (the os-release given to
// both: ukify's default is the build machine's), an image ukify of 257
// and of the newest builds carries the .pcrsig Sign makes from our
// prediction of it (all banks, default phases), and ours from the same
// inputs has the same sections (.sbat aside) and a .pcrsig equal to that
// version's systemd-measure sign over them.
func TestNoProfileMatchesUkify(t *testing.T) {
	for _, major := range []int{257, systemdpeer.Newest(t).Major} {
		v := systemdpeer.Get(t, major)
		t.Run(v.String(), func(t *testing.T) {
			dir := t.TempDir()
			copyFile(t, v.Stub(t), filepath.Join(dir, "stub"))
			kernel := filepath.Join(dir, "kernel")
			if err := os.WriteFile(kernel, bytes.Repeat([]byte("kernel-"), 5003), 0o644); err != nil {
				t.Fatal(err)
			}
			key := testcert.NewKey(t, testcert.RSA2048).(*rsa.PrivateKey)
			testcert.WriteKey(t, filepath.Join(dir, "key.pem"), key)
			pub, err := measure.PublicKeyPEM(&key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "pub.pem"), pub, 0o644); err != nil {
				t.Fatal(err)
			}
			v.Run(t, dir, nil, systemdpeer.Ukify, "build", "--stub=stub", "--linux=kernel", "--cmdline="+baseCmdline, "--os-release=ID=nixos", "--uname=6.1.0-test",
				"--pcr-private-key=key.pem", "--pcr-public-key=pub.pem", "--pcr-banks=sha1,sha256,sha384,sha512", "--output=ukify.efi")
			uf := openPE(t, filepath.Join(dir, "ukify.efi"))
			upred, err := measure.PredictImage(uf, measure.AllBanks, measure.DefaultPhases())
			if err != nil {
				t.Fatal(err)
			}
			checkPCRSig(t, uf, 0, upred, key, "ukify's image")

			img, err := Compose(Inputs{
				Stub: readFile(t, filepath.Join(dir, "stub")), Linux: kernel, Cmdline: []byte(baseCmdline), OSRelease: []byte("ID=nixos"), Uname: []byte("6.1.0-test"),
				PCR: PCR{Groups: []measure.KeyGroup{{Key: key}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			writeUKI(t, img, filepath.Join(dir, "ours.efi"))
			of := openPE(t, filepath.Join(dir, "ours.efi"))
			if got, want := profileDigests(t, of, -1), profileDigests(t, uf, -1); !mapsEqualBut(got, want, uki.SectionSBAT, uki.SectionPCRSig) {
				t.Errorf("our sections %v, ukify's %v", got, want)
			}
			args := []string{"sign", "--json=short", "--private-key=key.pem", "--bank=sha1", "--bank=sha256", "--bank=sha384", "--bank=sha512"}
			for _, s := range profileSections(of, -1) {
				if s.NameString() == uki.SectionPCRSig {
					continue
				}
				b, err := of.SectionData(&s, int64(s.VirtualSize))
				if err != nil {
					t.Fatal(err)
				}
				name := "sec" + s.NameString()
				if err := os.WriteFile(filepath.Join(dir, name), b[:min(len(b), int(s.VirtualSize))], 0o644); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--"+s.NameString()[1:]+"="+name)
			}
			want := bytes.TrimSpace(v.Run(t, dir, nil, systemdpeer.Measure, args...))
			got, _ := img.PCRSig.MarshalJSON()
			if !bytes.Equal(got, want) {
				t.Errorf("our .pcrsig is not systemd-measure %s sign's\n got: %.200s\nwant: %.200s", v, got, want)
			}
		})
	}
}
