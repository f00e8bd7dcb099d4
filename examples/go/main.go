// A Hookhub webhook receiver with Go's standard library only.
//
// It checks the Standard Webhooks signature Hookhub sends (HMAC-SHA256 with the subscription's
// whsec_ secret over "{webhook-id}.{webhook-timestamp}.{raw body}"), puts the event on a
// channel, answers 204 at once and handles the event in a goroutine.
//
//	HOOKHUB_SECRET=whsec_... PORT=4000 go run .
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

const tolerance = 5 * time.Minute

type event struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type job struct {
	webhookID string
	event     event
}

// verify returns the webhook-id when one of the v1 signatures matches.
func verify(key []byte, h http.Header, body []byte) (string, error) {
	id, ts, signatures := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || signatures == "" {
		return "", errors.New("missing webhook-id, webhook-timestamp or webhook-signature")
	}
	seconds, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", errors.New("webhook-timestamp is not Unix seconds")
	}
	if d := time.Since(time.Unix(seconds, 0)); d > tolerance || d < -tolerance {
		return "", errors.New("webhook-timestamp is more than 5 minutes away")
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.", id, ts)
	mac.Write(body)
	expected := mac.Sum(nil)
	// During a secret rotation there is one signature per secret, space-separated.
	for _, candidate := range strings.Split(signatures, " ") {
		version, value, _ := strings.Cut(candidate, ",")
		got, err := base64.StdEncoding.DecodeString(value)
		if version == "v1" && err == nil && hmac.Equal(got, expected) {
			return id, nil
		}
	}
	return "", errors.New("no signature matches")
}

func main() {
	secret := os.Getenv("HOOKHUB_SECRET")
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if secret == "" || err != nil {
		log.Fatal("Set HOOKHUB_SECRET to the subscription's whsec_ secret.")
	}
	jobs := make(chan job, 1000)
	go func() {
		// Your work goes here; it runs after Hookhub has its answer. Dedupe on webhook-id.
		for j := range jobs {
			fmt.Printf("verified %s %s %s\n", j.webhookID, j.event.Type, j.event.ID)
		}
	}()
	http.HandleFunc("/webhooks", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		// The raw bytes: the signature covers them exactly.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		id, err := verify(key, r.Header, body)
		var e event
		if err == nil {
			err = json.Unmarshal(body, &e)
		}
		if err != nil {
			fmt.Printf("refused: %v\n", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		select {
		case jobs <- job{id, e}:
			w.WriteHeader(http.StatusNoContent)
		default: // queue full: let Hookhub retry later
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "4000"
	}
	fmt.Printf("listening on http://127.0.0.1:%s/webhooks\n", port)
	log.Fatal(http.ListenAndServe("127.0.0.1:"+port, nil))
}
