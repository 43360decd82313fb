package holder

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

// TestPublicAPIHasNoInternalTypes: a program outside this module must be
// able to use the wallet, so no exported name of package holder may take,
// return or contain a type defined in an internal/ package (an alias of one
// counts: the type is still the internal one, and its documentation is out
// of reach). The test reads holder's compiled export data and walks every
// exported object, the fields and methods of the module's types it reaches
// included.
func TestPublicAPIHasNoInternalTypes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the export data of holder and its dependencies")
	}
	const self = "github.com/yinzheng-id/yinzheng/holder"
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}", self).Output()
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
	pkg, err := imp.Import(self)
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
		walk("holder."+name, obj.Type())
		if tn, ok := obj.(*types.TypeName); ok {
			// Methods on pointer receivers are in the method set of *T.
			ms := types.NewMethodSet(types.NewPointer(tn.Type()))
			for i := range ms.Len() {
				if m := ms.At(i).Obj(); m.Exported() {
					walk("holder."+name+"."+m.Name()+"()", m.Type())
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d exported names found: the walk would prove nothing", n)
	}
}
