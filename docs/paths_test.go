package docs

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// pathToken finds words that look like file paths: runs of path characters
// with a slash or a file extension.
var pathToken = regexp.MustCompile(`[A-Za-z0-9_.\-/]+`)

// docExt are the extensions that name a document of ours even without a
// directory: a bare Markdown name must exist beside the file naming it or
// at the root.
var docExt = map[string]bool{".md": true}

// repoRoot is the module root, one level up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod in %s", root)
	}
	return root
}

// topLevel is the set of the repository's top-level names; a path whose
// first element is one of them (or spec/, which is not ours) is a
// repository path.
func topLevel(t *testing.T, root string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	top := map[string]bool{"spec": true}
	for _, e := range entries {
		// bin/ holds build outputs (make build, make fortezza-module):
		// README names them, and they exist only after a build.
		if !strings.HasPrefix(e.Name(), ".") && e.Name() != "bin" {
			top[e.Name()] = true
		}
	}
	return top
}

// candidates returns the repository paths text names.
func candidates(text string, top map[string]bool) []string {
	var out []string
	for _, m := range pathToken.FindAllString(text, -1) {
		m = strings.TrimRight(m, ".-")
		m = strings.TrimSuffix(m, "/...")
		m = strings.TrimRight(m, "/")
		m = strings.TrimPrefix(m, "./")
		if m == "" || strings.Contains(m, "..") {
			continue
		}
		first, _, hasSlash := strings.Cut(m, "/")
		switch {
		case hasSlash && top[first]:
			out = append(out, m)
		case !hasSlash && docExt[filepath.Ext(m)] && len(m) > len(filepath.Ext(m)):
			out = append(out, m)
		}
	}
	return out
}

// exists reports whether p names something in the repository, from the
// root or from dir (the directory of the file that names it).
func exists(root, dir, p string) bool {
	for _, base := range []string{root, dir} {
		if _, err := os.Stat(filepath.Join(base, filepath.FromSlash(p))); err == nil {
			return true
		}
	}
	return false
}

// sectionRef is a Markdown path followed by section numbers:
// "docs/fortezza.md §1.6", "docs/fortezza.md §4.5, §4.8".
var (
	sectionRef = regexp.MustCompile(`([A-Za-z0-9_\-/]+\.md)((?:,?\s*§\s*[0-9]+(?:\.[0-9]+)*)+)`)
	sectionNum = regexp.MustCompile(`[0-9]+(?:\.[0-9]+)*`)
)

// hasSection reports whether the Markdown file has a heading numbered n
// ("## 3. PKCS #11", "### 1.6 The card byte convention").
func hasSection(file, n string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	heading := regexp.MustCompile(`(?m)^#+\s+` + regexp.QuoteMeta(n) + `\.?\s`)
	return heading.Match(b)
}

func TestNamedPathsExist(t *testing.T) {
	root := repoRoot(t)
	top := topLevel(t, root)
	var missing []string
	check := func(file string, line int, text string) {
		rel, _ := filepath.Rel(root, file)
		where := filepath.ToSlash(rel) + ":" + strconv.Itoa(line) + ": "
		for _, p := range candidates(text, top) {
			if !exists(root, filepath.Dir(file), p) {
				missing = append(missing, where+p)
			}
		}
		for _, m := range sectionRef.FindAllStringSubmatch(text, -1) {
			doc := filepath.Join(root, filepath.FromSlash(m[1]))
			if _, err := os.Stat(doc); err != nil {
				continue // reported above if it is ours
			}
			for _, n := range sectionNum.FindAllString(m[2], -1) {
				if !hasSection(doc, n) {
					missing = append(missing, where+m[1]+" §"+n)
				}
			}
		}
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(name, ".go"):
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for _, cg := range f.Comments {
				for _, c := range cg.List {
					check(path, fset.Position(c.Pos()).Line, c.Text)
				}
			}
		case name == "README.md" || filepath.Dir(path) == filepath.Join(root, "docs") && strings.HasSuffix(name, ".md"):
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(b), "\n") {
				check(path, i+1, line)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s does not exist", m)
	}
}
