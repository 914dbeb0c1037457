package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/nix-boot-security/nix-boot-security/pkg/atomicfile"
	"github.com/nix-boot-security/nix-boot-security/pkg/ca"
	"github.com/nix-boot-security/nix-boot-security/pkg/cli"
	"github.com/nix-boot-security/nix-boot-security/pkg/keys"
)

var keysCACommands = []cli.Command{
	{Name: "create", Summary: "make the self-signed organisation CA certificate (the one certificate db needs)", Run: runKeysCACreate},
	{Name: "issue", Summary: "issue a machine certificate or a machine sub-CA from the CA", Run: runKeysCAIssue},
}

// Default validity, in days, when --days is not given.
const (
	defaultCADays      = 20 * 365
	defaultMachineDays = 10 * 365
)

// certFlags are the subject and validity options both commands take.
type certFlags struct {
	commonName, org, notBefore string
	days                       int
}

func (f *certFlags) register(fs *pflag.FlagSet, days int) {
	fs.StringVar(&f.commonName, "common-name", "", "subject common name `NAME` (required)")
	fs.StringVar(&f.org, "organization", "", "subject organization `NAME`")
	fs.StringVar(&f.notBefore, "not-before", "", "start of validity `DATE` (YYYY-MM-DD or RFC 3339; default: $SOURCE_DATE_EPOCH, else now)")
	fs.IntVar(&f.days, "days", days, "validity in `DAYS`")
}

func (f *certFlags) subject() (pkix.Name, error) {
	if f.commonName == "" {
		return pkix.Name{}, cli.Usagef("--common-name is required")
	}
	n := pkix.Name{CommonName: f.commonName}
	if f.org != "" {
		n.Organization = []string{f.org}
	}
	return n, nil
}

// validity resolves --not-before and --days.
func (f *certFlags) validity() (time.Time, time.Time, error) {
	var from time.Time
	switch {
	case f.notBefore != "":
		t, err := time.Parse(time.RFC3339, f.notBefore)
		if err != nil {
			t, err = time.Parse(time.DateOnly, f.notBefore)
		}
		if err != nil {
			return time.Time{}, time.Time{}, cli.Usagef("--not-before %q: want YYYY-MM-DD or RFC 3339", f.notBefore)
		}
		from = t
	case os.Getenv("SOURCE_DATE_EPOCH") != "":
		sec, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64)
		if err != nil || sec < 0 {
			return time.Time{}, time.Time{}, cli.Usagef("SOURCE_DATE_EPOCH %q is not a number of seconds", os.Getenv("SOURCE_DATE_EPOCH"))
		}
		from = time.Unix(sec, 0)
	default:
		from = time.Now()
	}
	if f.days <= 0 || f.days > 100*366 {
		return time.Time{}, time.Time{}, cli.Usagef("--days %d: want 1 to %d", f.days, 100*366)
	}
	from = from.UTC().Truncate(time.Second)
	return from, from.AddDate(0, 0, f.days), nil
}

func runKeysCACreate(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "keys ca create", "--key KEY --common-name NAME --output CA.pem",
		`Make the organisation CA: a self-signed certificate (CA:TRUE, keyCertSign
and cRLSign) for KEY, which may stay on a token or in a TPM. Enroll this
certificate in db; every machine certificate and sub-CA it issues then
boots without db changing. Use an RSA key for Secure Boot (OVMF refuses EC
certificates in db). The same inputs (with an RSA key and a fixed
--not-before) give the same bytes.
`+keyHelp)
	key := fs.String("key", "", "the CA's private `KEY`")
	output := fs.String("output", "", "write the certificate (PEM) to `PATH`")
	var cf certFlags
	cf.register(fs, defaultCADays)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("keys ca create: unexpected argument %q", fs.Arg(0))
	}
	if *key == "" || *output == "" {
		return cli.Usagef("keys ca create: --key and --output are required")
	}
	subject, err := cf.subject()
	if err != nil {
		return err
	}
	from, until, err := cf.validity()
	if err != nil {
		return err
	}
	k, err := openKey(ctx, env.Stderr, *key)
	if err != nil {
		return err
	}
	defer k.Close()
	cert, err := ca.CreateCA(k, subject, from, until)
	if err != nil {
		return cli.Usage(fmt.Errorf("%s: %w", k.Description(), err))
	}
	return writeCerts(*output, cert)
}

func runKeysCAIssue(ctx context.Context, env cli.Env, args []string) error {
	fs := cli.NewFlagSet(env, toolName, "keys ca issue", "--ca-cert CA.pem --ca-key KEY (--key KEY | --public-key PUB) --common-name NAME --output CERT.pem",
		`Issue a machine certificate (CA:FALSE, digitalSignature, codeSigning) or,
with --sub-ca, a machine sub-CA (CA:TRUE, path length 0, keyCertSign,
codeSigning) that issues machine certificates for a machine or a group of
them. The issuer is --ca-cert (its first certificate; the certificates after
it are its own chain, as this command writes them) with its key --ca-key.
The subject's key is --key (any key reference: only its public key is read)
or --public-key (a PEM public key or certificate).

The output holds the new certificate followed by the issuer's chain
without the self-signed organisation CA: exactly what "nix-uki build
--secureboot-certificate" and "nix-uki sign --cert" embed, so the firmware
needs only the organisation CA in db. Validity defaults to 10 years, cut
to the issuer's end.
`+keyHelp)
	caCert := fs.String("ca-cert", "", "issuer certificate `PATH` (PEM: the issuer first, then its chain)")
	caKey := fs.String("ca-key", "", "issuer's private `KEY`")
	subKey := fs.String("key", "", "the subject's `KEY` (only its public key is used)")
	subPub := fs.String("public-key", "", "the subject's public key or certificate `PATH` (PEM or DER)")
	subCA := fs.Bool("sub-ca", false, "issue a machine sub-CA instead of a machine certificate")
	output := fs.String("output", "", "write the certificate and its chain (PEM) to `PATH`")
	var cf certFlags
	cf.register(fs, defaultMachineDays)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("keys ca issue: unexpected argument %q", fs.Arg(0))
	}
	if *caCert == "" || *caKey == "" || *output == "" {
		return cli.Usagef("keys ca issue: --ca-cert, --ca-key and --output are required")
	}
	if (*subKey == "") == (*subPub == "") {
		return cli.Usagef("keys ca issue: give exactly one of --key and --public-key")
	}
	subject, err := cf.subject()
	if err != nil {
		return err
	}
	from, until, err := cf.validity()
	if err != nil {
		return err
	}
	chain, err := keys.LoadCertificates(*caCert)
	if err != nil {
		return cli.Usage(err)
	}
	issuer := chain[0]
	if !fs.Changed("days") && until.After(issuer.NotAfter) {
		until = issuer.NotAfter
	}
	req := ca.Request{Profile: ca.Machine, Subject: subject, NotBefore: from, NotAfter: until}
	if *subCA {
		req.Profile = ca.MachineSubCA
	}
	if *subPub != "" {
		if req.PublicKey, err = keys.LoadPublicKey(*subPub); err != nil {
			return cli.Usage(err)
		}
	} else {
		k, err := openKey(ctx, env.Stderr, *subKey)
		if err != nil {
			return err
		}
		req.PublicKey = k.Public()
		k.Close()
	}
	issuerKey, err := openKey(ctx, env.Stderr, *caKey)
	if err != nil {
		return err
	}
	defer issuerKey.Close()
	cert, err := ca.Issue(issuer, issuerKey, req)
	if err != nil {
		return cli.Usage(fmt.Errorf("%s: %w", issuerKey.Description(), err))
	}
	out := []*x509.Certificate{cert}
	for _, c := range chain {
		if !bytes.Equal(c.RawIssuer, c.RawSubject) {
			out = append(out, c)
		}
	}
	return writeCerts(*output, out...)
}

// writeCerts writes certificates as PEM, atomically.
func writeCerts(path string, certs ...*x509.Certificate) error {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	if err := atomicfile.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return cli.Usage(err)
	}
	return nil
}
