package main

import (
	"flag"
	"io"
	"os"

	"github.com/tokenssl/tokenssl/ssl"
)

// configFlags are the ssl.Config flags the server and the client take
// alike: -ciphers and -keylog.
type configFlags struct {
	ciphers string
	keyLog  keyLogFlag
}

func (f *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.ciphers, "ciphers", "", "comma-separated suite names (Appendix C, or OpenSSL: DES-CBC3-SHA) or hex codes; default: the secure defaults")
	f.keyLog.register(fs)
}

// apply sets config.CipherSuites from -ciphers (left nil, the defaults,
// without it) and config.KeyLogWriter from -keylog, saying on stderr that
// a key log is being written; closeKeyLog closes it.
func (f *configFlags) apply(config *ssl.Config) (closeKeyLog func(), err error) {
	if f.ciphers != "" {
		if config.CipherSuites, err = parseCiphers(f.ciphers); err != nil {
			return nil, err
		}
	}
	var w io.Writer
	if w, closeKeyLog, err = f.keyLog.open(os.Stderr); err != nil {
		return nil, err
	}
	config.KeyLogWriter = w
	return closeKeyLog, nil
}
