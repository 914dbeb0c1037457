package nix

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"testing"
)

// contractConfig is the install configuration, version 1, as the contract
// between the module and `nix-uki install --config` states it (field names
// and JSON types; pkg/install documents each field). The module must write
// every field and nothing else.
type contractConfig struct {
	Version     int      `json:"version"`
	Esps        []string `json:"esps"`
	Xbootldr    *string  `json:"xbootldr"`
	Profiles    string   `json:"profiles"`
	Stub        string   `json:"stub"`
	SystemdBoot string   `json:"systemdBoot"`
	SecureBoot  struct {
		PrivateKey    *string `json:"privateKey"`
		Certificate   *string `json:"certificate"`
		AllowUnsigned bool    `json:"allowUnsigned"`
	} `json:"secureBoot"`
	ConfigurationLimit int               `json:"configurationLimit"`
	Loader             map[string]string `json:"loader"`
	SortKey            string            `json:"sortKey"`
	BootCounting       struct {
		Tries int `json:"tries"`
	} `json:"bootCounting"`
	ClosureCheck struct {
		Enable       bool   `json:"enable"`
		OnFailure    string `json:"onFailure"`
		Jobs         int    `json:"jobs"`
		ManifestFrom string `json:"manifestFrom"`
	} `json:"closureCheck"`
	MeasuredBoot *struct {
		PcrPrivateKey string   `json:"pcrPrivateKey"`
		PcrPublicKey  *string  `json:"pcrPublicKey"`
		Banks         []string `json:"banks"`
		Phases        []string `json:"phases"`
	} `json:"measuredBoot"`
	ExtraKernelParams []string `json:"extraKernelParams"`
}

var contractFields = []string{"bootCounting", "closureCheck", "configurationLimit", "esps", "extraKernelParams",
	"loader", "measuredBoot", "profiles", "secureBoot", "sortKey", "stub", "systemdBoot", "version", "xbootldr"}

// Every golden configuration is a valid version 1 configuration by the
// contract: strictly typed, no unknown field, no field left out.
func TestInstallConfigContract(t *testing.T) {
	for _, tc := range moduleCases {
		t.Run(tc.name, func(t *testing.T) {
			data := compactFile(t, "testdata/module/"+tc.name+".install.json")
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			var c contractConfig
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("not a version 1 configuration: %v", err)
			}
			if c.Version != 1 || len(c.Esps) == 0 {
				t.Errorf("version %d, esps %v", c.Version, c.Esps)
			}
			if _, ok := c.Loader["default"]; ok {
				t.Errorf("loader sets default, which the installer owns")
			}
			var m map[string]json.RawMessage
			json.Unmarshal(data, &m)
			var keys []string
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if !reflect.DeepEqual(keys, contractFields) {
				t.Errorf("fields %v, want %v", keys, contractFields)
			}
		})
	}
}

// The module's file read by the Go side: pkg/install.Load and `nix-uki
// install --config`, and a version it does not know refused with a clear
// message. pkg/install is being written on branch install; until it is
// merged, TestInstallConfigContract holds the module to the contract.
func TestInstallConfigLoad(t *testing.T) {
	t.Skip("pkg/install (branch install) is not merged yet: TestInstallConfigContract checks the contract meanwhile")
}
