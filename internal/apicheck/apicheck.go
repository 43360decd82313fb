// Package apicheck checks that a package's public API is usable from
// outside this module: no exported name may take, return or contain a type
// defined in an internal/ package (an alias of one counts: the type is still
// the internal one, and its documentation is out of reach).
package apicheck

import (
	"bufio"
	"bytes"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// NoInternalTypes reads pkgPath's compiled export data and walks every
// exported object, the fields and methods of the module's types it reaches
// included, failing t for each type from an internal package. It fails too
// when fewer than minExported names are exported, so that a broken walk
// cannot pass by finding nothing.
func NoInternalTypes(t testing.TB, pkgPath string, minExported int) {
	t.Helper()
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}", pkgPath).Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	exports := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if path, file, ok := strings.Cut(sc.Text(), "\t"); ok && file != "" {
			exports[path] = file
		}
	}
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(exports[path])
	})
	pkg, err := imp.Import(pkgPath)
	if err != nil {
		t.Fatal(err)
	}

	const module = "github.com/yinzheng-id/yinzheng/"
	seen := map[types.Type]bool{}
	var walk func(where string, typ types.Type)
	walk = func(where string, typ types.Type) {
		typ = types.Unalias(typ)
		if seen[typ] {
			return
		}
		seen[typ] = true
		switch x := typ.(type) {
		case *types.Named:
			obj := x.Obj()
			if obj.Pkg() == nil || !strings.HasPrefix(obj.Pkg().Path()+"/", module) {
				return // the standard library, gnark-crypto: not ours to judge
			}
			if strings.Contains(obj.Pkg().Path()+"/", "/internal/") {
				t.Errorf("%s: type %s.%s is from an internal package", where, obj.Pkg().Path(), obj.Name())
				return
			}
			for i := range x.NumMethods() {
				if m := x.Method(i); m.Exported() {
					walk(where+"."+m.Name()+"()", m.Type())
				}
			}
			walk(where, x.Underlying())
		case *types.Struct:
			for i := range x.NumFields() {
				if f := x.Field(i); f.Exported() {
					walk(where+"."+f.Name(), f.Type())
				}
			}
		case *types.Signature:
			for _, tuple := range []*types.Tuple{x.Params(), x.Results()} {
				for i := range tuple.Len() {
					walk(where, tuple.At(i).Type())
				}
			}
		case *types.Pointer:
			walk(where, x.Elem())
		case *types.Slice:
			walk(where, x.Elem())
		case *types.Array:
			walk(where, x.Elem())
		case *types.Map:
			walk(where, x.Key())
			walk(where, x.Elem())
		case *types.Chan:
			walk(where, x.Elem())
		case *types.Interface:
			for i := range x.NumMethods() {
				walk(where+"."+x.Method(i).Name()+"()", x.Method(i).Type())
			}
		}
	}
	scope := pkg.Scope()
	n := 0
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		n++
		walk(pkg.Name()+"."+name, obj.Type())
		if tn, ok := obj.(*types.TypeName); ok {
			// Methods on pointer receivers are in the method set of *T.
			ms := types.NewMethodSet(types.NewPointer(tn.Type()))
			for i := range ms.Len() {
				if m := ms.At(i).Obj(); m.Exported() {
					walk(pkg.Name()+"."+name+"."+m.Name()+"()", m.Type())
				}
			}
		}
	}
	if n < minExported {
		t.Fatalf("only %d exported names found: the walk would prove nothing", n)
	}
}
