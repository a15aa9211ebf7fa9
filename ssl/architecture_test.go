package ssl

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The plug-in shape of the key exchanges (docs/architecture.md), checked on
// the engine's own source so that it cannot erode unnoticed: the drivers ask
// an exchange through the keyAgreement interface and never name its type,
// and an exchange cannot reach the connection, so it cannot send an alert or
// a record itself; it returns an error that names the alert.
func TestKeyExchangesArePlugIns(t *testing.T) {
	files := parseEngine(t)
	exchanges := map[string]bool{} // the types with a traits method
	connMethods := map[string]bool{}
	for _, f := range files {
		for _, d := range f.file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil {
				continue
			}
			switch recv := receiverName(fn); {
			case fn.Name.Name == "traits":
				exchanges[recv] = true
			case (recv == "Conn" || recv == "halfConn") && !ast.IsExported(fn.Name.Name):
				// Exported names (Write, Close) are everyone's; the
				// unexported ones (sendAlert, writeRecordLocked) are the
				// connection's own.
				connMethods[fn.Name.Name] = true
			}
		}
	}
	if len(exchanges) < 6 || len(connMethods) < 10 {
		t.Fatalf("found %d exchanges and %d Conn methods: the source scan is broken", len(exchanges), len(connMethods))
	}

	for _, f := range files {
		ast.Inspect(f.file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.TypeAssertExpr:
				if n.Type != nil && exchanges[typeName(n.Type)] {
					t.Errorf("%s: asserts the concrete exchange type %s; ask the keyAgreement interface", f.pos(n), typeName(n.Type))
				}
			case *ast.CaseClause:
				for _, e := range n.List {
					if exchanges[typeName(e)] {
						t.Errorf("%s: switches on the concrete exchange type %s", f.pos(e), typeName(e))
					}
				}
			case *ast.TypeSpec:
				if st, ok := n.Type.(*ast.StructType); ok && exchanges[n.Name.Name] {
					for _, field := range st.Fields.List {
						if mentionsConn(field.Type) {
							t.Errorf("%s: exchange %s holds the connection", f.pos(field), n.Name.Name)
						}
					}
				}
				if it, ok := n.Type.(*ast.InterfaceType); ok && n.Name.Name == "keyAgreement" {
					if mentionsConn(it) {
						t.Errorf("%s: the keyAgreement interface hands the exchange the connection", f.pos(n))
					}
				}
			case *ast.FuncDecl:
				if n.Recv == nil || !exchanges[receiverName(n)] || n.Body == nil {
					return true
				}
				ast.Inspect(n.Body, func(m ast.Node) bool {
					switch m := m.(type) {
					case *ast.Ident:
						if m.Name == "Conn" || m.Name == "halfConn" {
							t.Errorf("%s: %s.%s names the connection", f.pos(m), receiverName(n), n.Name.Name)
						}
					case *ast.CallExpr:
						if sel, ok := m.Fun.(*ast.SelectorExpr); ok && connMethods[sel.Sel.Name] {
							t.Errorf("%s: %s.%s calls %s, a connection method", f.pos(m), receiverName(n), n.Name.Name, sel.Sel.Name)
						}
					}
					return true
				})
			}
			return true
		})
	}
}

type engineFile struct {
	fset *token.FileSet
	file *ast.File
}

func (f engineFile) pos(n ast.Node) string { return f.fset.Position(n.Pos()).String() }

// parseEngine parses the package's non-test files.
func parseEngine(t *testing.T) []engineFile {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []engineFile
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, engineFile{fset, f})
	}
	if len(files) < 20 {
		t.Fatalf("only %d source files in ssl/", len(files))
	}
	return files
}

func receiverName(fn *ast.FuncDecl) string { return typeName(fn.Recv.List[0].Type) }

// typeName is T for T, *T and T[...]; "" for anything else.
func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return typeName(e.X)
	case *ast.IndexExpr:
		return typeName(e.X)
	case *ast.ParenExpr:
		return typeName(e.X)
	}
	return ""
}

func mentionsConn(n ast.Node) (found bool) {
	ast.Inspect(n, func(m ast.Node) bool {
		if id, ok := m.(*ast.Ident); ok && (id.Name == "Conn" || id.Name == "halfConn") {
			found = true
		}
		return !found
	})
	return found
}
