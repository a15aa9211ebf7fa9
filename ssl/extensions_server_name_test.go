package ssl

import (
	"testing"
)

// server_name (RFC 6066 §3) as the server reads it from the extensions
// block of an SSL 3.0 ClientHello.
func TestParseServerName(t *testing.T) {
	ext := func(t *testing.T, host string) []byte {
		e, err := serverNameExtension(host)
		if err != nil {
			t.Fatal(err)
		}
		return e.data
	}
	for _, tc := range []struct {
		name   string
		data   []byte // nil: extension absent
		absent bool
		want   string
		ok     bool
	}{
		{name: "absent", absent: true, ok: true},
		{name: "one host_name", data: ext(t, "www.example.com"), want: "www.example.com", ok: true},
		{name: "unknown name_type skipped", data: []byte{0, 11, 7, 0, 1, 'x', 0, 0, 4, 'a', '.', 'b', 'c'}, want: "a.bc", ok: true},
		{name: "empty list", data: []byte{0, 0}},
		{name: "empty body", data: []byte{}},
		{name: "list length too long", data: []byte{0, 9, 0, 0, 3, 'a', 'b', 'c'}},
		{name: "trailing byte", data: append(ext(t, "abc"), 0)},
		{name: "empty host_name", data: []byte{0, 3, 0, 0, 0}},
		{name: "two host_names", data: []byte{0, 10, 0, 0, 3, 'a', 'b', 'c', 0, 0, 1, 'd'}},
		{name: "trailing dot", data: ext(t, "example.com.")},
		{name: "control byte", data: ext(t, "exa\x00mple")},
		{name: "non-ASCII", data: ext(t, "b\xc3\xbccher.example")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exts := map[uint16][]byte{}
			if !tc.absent {
				exts[extensionServerName] = tc.data
			}
			got, ok := parseServerName(exts)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("parseServerName = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestHostnameForSNI(t *testing.T) {
	for in, want := range map[string]string{
		"localhost": "localhost", "example.com.": "example.com", "127.0.0.1": "", "::1": "", "[::1]": "", "": "",
	} {
		if got := hostnameForSNI(in); got != want {
			t.Errorf("hostnameForSNI(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzServerName: the parser never panics, and a name it accepts encodes
// back to an extension it reads as the same name.
func FuzzServerName(f *testing.F) {
	for _, host := range []string{"localhost", "a.b", "x"} {
		e, _ := serverNameExtension(host)
		f.Add(e.data)
	}
	f.Add([]byte{0, 11, 7, 0, 1, 'x', 0, 0, 4, 'a', '.', 'b', 'c'})
	f.Fuzz(func(t *testing.T, data []byte) {
		name, ok := parseServerName(map[uint16][]byte{extensionServerName: data})
		if !ok || name == "" {
			return
		}
		e, err := serverNameExtension(name)
		if err != nil {
			t.Fatal(err)
		}
		again, ok := parseServerName(map[uint16][]byte{extensionServerName: e.data})
		if !ok || again != name {
			t.Fatalf("re-encoded %q parsed as %q, %v", name, again, ok)
		}
	})
}
