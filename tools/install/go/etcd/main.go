// Command etcd is the etcd server, built from go.etcd.io/etcd/server/v3 at the version pinned in go.mod.
// The etcd root module carries replace directives, so `go install go.etcd.io/etcd/v3@v` cannot build
// it; this wrapper calls the same entry point its main package does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
