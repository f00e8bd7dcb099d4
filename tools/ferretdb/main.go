// Command ferretdb runs FerretDB (MongoDB wire protocol on PostgreSQL) for
// Hookhub's MongoDB-layer tests.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	addr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	pg := flag.String("postgresql-url", "postgres://postgres@127.0.0.1:5432/ferretdb", "PostgreSQL connection string")
	gcPercent := flag.Int("gc-percent", 400, "Go GC target percentage (GOGC); ignored when GOGC is set")
	flag.Parse()

	// FerretDB turns every document into many short-lived objects; at Go's default
	// GC target (100) garbage collection takes about a fifth of its CPU under a
	// steady insert load. A higher target trades some memory for that CPU.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(*gcPercent)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *addr},
		Handler:       "postgresql",
		PostgreSQLURL: *pg,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("ferretdb listening on %s", f.MongoDBURI())
	if err := f.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
