package esp

import "testing"

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		n     int
		spec  string
		tries int
		want  string
	}{
		{3, "", 0, "nixos-generation-3-0123456789abcdef.efi"},
		{12, "debug-x", 0, "nixos-generation-12-specialisation-debug-x-0123456789abcdef.efi"},
		{1, "", 3, "nixos-generation-1-0123456789abcdef+3.efi"},
	} {
		got := EntryName(tc.n, tc.spec, "0123456789abcdef", tc.tries)
		if got != tc.want {
			t.Errorf("EntryName = %q, want %q", got, tc.want)
		}
		if n, spec, ok := ParseEntryName(got); !ok || n != tc.n || spec != tc.spec || !OwnedEntry(LinuxDir+"/"+got) {
			t.Errorf("EntryGeneration(%q) = %d, %v", got, n, ok)
		}
	}
	for _, name := range []string{"nixos-generation-3.efi", "nixos-generation-0-0123456789abcdef.efi", "other.efi",
		"nixos-generation-3-0123456789abcdef.efi" + TempSuffix, "nixos-generation-3-0123456789ABCDEF.efi"} {
		if _, ok := EntryGeneration(name); ok {
			t.Errorf("%q taken for ours", name)
		}
	}
	if OwnedEntry("EFI/BOOT/nixos-generation-3-0123456789abcdef.efi") {
		t.Error("an entry outside EFI/Linux is owned")
	}
	for in, want := range map[string]string{
		"a/x+3.efi": "a/x.efi", "a/x+0-3.efi": "a/x.efi", "x+a.efi": "x+a.efi", "x+3-.efi": "x+3-.efi", "a+1/x.efi": "a+1/x.efi",
	} {
		if got := StripCounter(in); got != want {
			t.Errorf("StripCounter(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoaderConf(t *testing.T) {
	got := string(LoaderConf("e.efi", map[string]string{"timeout": "5", "editor": "no"}))
	want := loaderMarker + "\n" + loaderWarning + "\ndefault e.efi\neditor no\ntimeout 5\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
