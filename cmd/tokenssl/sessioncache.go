package main

import (
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/tokenssl/tokenssl/ssl"
	"github.com/tokenssl/tokenssl/ssl/rediscache"
	"github.com/tokenssl/tokenssl/token"
	"github.com/tokenssl/tokenssl/token/pkcs11"
)

// sessionCache builds the server's session cache from -session-cache,
// -session-key and -session-key-old: nil (the built-in memory LRU) when
// no -session-cache is given, else the Redis cache shared by the fleet,
// sealed under the key. tokenDefaults gives what a pkcs11: key URI leaves
// out (module, PIN source). closeFn releases Redis and any token.
func sessionCache(cacheURL, key, oldKey string, tokenDefaults func() (pkcs11.Config, error), logger *log.Logger) (c ssl.SessionCache, closeFn func(), err error) {
	var closers []func()
	closeFn = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	if cacheURL == "" {
		if key != "" || oldKey != "" {
			return nil, closeFn, errors.New("-session-key needs -session-cache redis://…")
		}
		return nil, closeFn, nil
	}
	if !strings.HasPrefix(cacheURL, "redis://") && !strings.HasPrefix(cacheURL, "rediss://") {
		return nil, closeFn, errors.New("-session-cache: want redis://HOST:PORT/DB")
	}
	if key == "" {
		return nil, closeFn, errors.New("-session-cache needs -session-key (a key file or a pkcs11: URI of an AES key): sessions are sealed in Redis")
	}
	open := func(flagName, spec string) (token.Sealer, error) {
		if !pkcs11.IsURI(spec) {
			s, err := token.LoadSealerKeyFile(spec)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", flagName, err)
			}
			return s, nil
		}
		def, err := tokenDefaults()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flagName, err)
		}
		b, k, err := pkcs11.OpenSealerURI(spec, def)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flagName, err)
		}
		closers = append(closers, func() { b.Close() })
		return k, nil
	}
	opts := rediscache.Options{Logf: logger.Printf}
	if opts.Sealer, err = open("-session-key", key); err != nil {
		closeFn()
		return nil, func() {}, err
	}
	if oldKey != "" {
		if opts.OldSealer, err = open("-session-key-old", oldKey); err != nil {
			closeFn()
			return nil, func() {}, err
		}
	}
	rc, err := rediscache.New(cacheURL, opts)
	if err != nil {
		closeFn()
		return nil, func() {}, err
	}
	closers = append(closers, func() { rc.Close() })
	return rc, closeFn, nil
}
