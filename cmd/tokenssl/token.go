package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// runToken implements `tokenssl token list|keys`: what an HSM user looks at
// before configuring a server.
func runToken(args []string) error {
	if len(args) == 0 {
		return errors.New("token: give a subcommand: list, keys, provision-fortezza")
	}
	switch args[0] {
	case "list":
		return tokenList(args[1:])
	case "keys":
		return tokenKeys(args[1:])
	case "provision-fortezza":
		return runProvisionFortezza(args[1:])
	}
	return fmt.Errorf("token: unknown subcommand %q", args[0])
}

func tokenList(args []string) error {
	fs := commandFlagSet("token list")
	module := fs.String("pkcs11-module", defaultModule(), "PKCS#11 module")
	fs.Parse(args)
	if *module == "" {
		return errors.New("token list: no PKCS#11 module found; give -pkcs11-module")
	}
	slots, err := pkcs11.ListSlots(*module)
	if err != nil {
		return err
	}
	fmt.Printf("module %s: %d slot(s)\n", *module, len(slots))
	for _, s := range slots {
		fmt.Printf("\nslot %d: %s\n", s.ID, strings.TrimSpace(s.Description))
		if s.Token == nil {
			if s.TokenError != "" {
				fmt.Printf("  token present but unreadable: %s\n", s.TokenError)
			} else {
				fmt.Println("  (no token)")
			}
			continue
		}
		t := s.Token
		if !t.Initialized {
			// SoftHSM always offers one such slot for the next token.
			fmt.Println("  token:         not initialised (softhsm2-util --init-token, or pkcs11-tool --init-token)")
			continue
		}
		fmt.Printf("  token label:   %s\n  serial:        %s\n  model:         %s\n  manufacturer:  %s\n",
			t.Label, t.Serial, t.Model, t.Manufacturer)
		fmt.Printf("  flags:         %s\n", tokenFlags(t))
		var mechs []string
		for _, m := range s.Mechanisms {
			mechs = append(mechs, m.Name)
		}
		fmt.Printf("  SSL mechanisms: %s\n", strings.Join(mechs, " "))
		id := s.ID
		objs, err := pkcs11.ListObjects(pkcs11.Config{ModulePath: *module, SlotID: &id})
		switch {
		case err != nil:
			fmt.Printf("  objects:       cannot list: %s\n", operatorMessage(err))
		case t.LoginRequired:
			fmt.Printf("  objects:       %d visible without a PIN; private keys hidden (to see them: tokenssl token keys -slot %d -pin-file FILE)\n", len(objs), s.ID)
		default:
			fmt.Printf("  objects:       %d\n", len(objs))
		}
	}
	return nil
}

func tokenKeys(args []string) error {
	fs := commandFlagSet("token keys")
	var k keyFlags
	k.register(fs, tokenSide)
	fs.Parse(args)
	cfg, err := k.tokenConfig()
	if err != nil {
		return err
	}
	if cfg.ModulePath == "" {
		return errors.New("token keys: no PKCS#11 module found; give -pkcs11-module")
	}
	b, err := pkcs11.Open(cfg)
	if err != nil {
		return err
	}
	defer b.Close()
	objs, err := b.ListObjects(context.Background())
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "CLASS\tTYPE\tBITS\tLABEL\tID\tATTRIBUTES\tURI\n")
	for _, o := range objs {
		fmt.Fprintln(w, objectRow(o, b.Label()))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if cfg.PIN == nil {
		fmt.Println("(no PIN given: private keys are hidden; log in with -pin-file, -pin-env or -pin-source)")
	}
	return nil
}

// objectRow is one line of token keys: the ID as a URI takes it (%01%05)
// and the URI that names the object.
func objectRow(o pkcs11.ObjectInfo, tokenLabel string) string {
	var attrs []string
	for _, a := range []struct {
		on   bool
		name string
	}{{o.Token, "token"}, {o.Private, "private"}, {o.Sensitive, "sensitive"}, {o.Extractable, "extractable"}} {
		if a.on {
			attrs = append(attrs, a.name)
		}
	}
	bits := "-"
	if o.KeySize > 0 {
		bits = fmt.Sprint(o.KeySize)
	}
	id, _ := hex.DecodeString(o.ID)
	shown := pkcs11.FormatID(id)
	if shown == "" {
		shown = "-"
	}
	u := &pkcs11.URI{Token: tokenLabel, Object: o.Label, ID: id, Type: o.Class}
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", o.Class, o.KeyType, bits, o.Label, shown, strings.Join(attrs, ","), u.String())
}

// tokenFlags names the token flags a user checks before logging in.
func tokenFlags(t *pkcs11.TokenInfo) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{
		{t.Initialized, "initialized"}, {t.LoginRequired, "login-required"}, {t.UserPINInitialized, "user-pin-initialized"},
		{t.PINCountLow, "PIN-COUNT-LOW"}, {t.PINFinalTry, "PIN-FINAL-TRY"}, {t.PINLocked, "PIN-LOCKED"},
		{t.SOPINLocked, "SO-PIN-LOCKED"}, {t.WriteProtected, "write-protected"}, {t.ProtectedAuthPath, "pin-pad"},
	} {
		if x.on {
			f = append(f, x.name)
		}
	}
	return strings.Join(f, " ")
}
