package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/voicesim/voicesim/web"
	"go.uber.org/zap"
)

func newServeCmd() *cobra.Command {
	var (
		addr, preset, certFile, keyFile, record, logLevel, apiKey string
		selfSigned                                                bool
		origins                                                   []string
		maxSessions                                               int
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the live demo: talk to a simulated voice assistant in the browser",
		Long: `Serves the demo page and a WebSocket endpoint (/ws): each connection is one
live session running an architecture's server-side stages on the wall clock,
fed by the browser's microphone. The page shows each turn's latency waterfall
as it happens and lets you talk over the assistant. web/PROTOCOL.md documents
the protocol; voicesim run --server plays scripted scenarios against it.

It also speaks the OpenAI Realtime API on /v1/realtime (and /realtime): point
an app written against it here (see web/realtime/README.md). Its per-turn
metrics are logged and listed at /api/realtime/turns.

Browsers give microphone access only to secure origins: http://127.0.0.1 and
http://localhost count; any other address needs TLS (--tls-cert/--tls-key, or
--tls-self-signed for an in-memory certificate).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (certFile == "") != (keyFile == "") {
				return errors.New("--tls-cert and --tls-key go together")
			}
			if selfSigned && certFile != "" {
				return errors.New("--tls-self-signed and --tls-cert are alternatives")
			}
			if os.Getenv("GOGC") == "" {
				// Collect a quarter as often as Go's default: each collection
				// takes a core of this 2-core class of machine for a few ms,
				// which is what stretches the tail of the server's timing;
				// the memory is cheap (BenchmarkLoad: 500 sessions in well
				// under 1 GiB). GOGC, when set, wins.
				debug.SetGCPercent(400)
			}
			log, err := web.NewLogger(logLevel)
			if err != nil {
				return err
			}
			defer func() { _ = log.Sync() }()
			if record != "" {
				if err := os.MkdirAll(record, 0o755); err != nil {
					return fmt.Errorf("record folder: %w", err)
				}
			}
			srv, err := web.New(web.Config{Preset: preset, AllowedOrigins: origins, MaxSessions: maxSessions,
				RecordDir: record, Logger: log, APIKey: apiKey})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
				ErrorLog: zap.NewStdLog(log.Named("http"))}
			scheme := "http"
			switch {
			case selfSigned:
				host, _, _ := net.SplitHostPort(addr)
				cert, err := web.SelfSignedCert(host)
				if err != nil {
					return err
				}
				hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
				scheme = "https"
			case certFile != "":
				cert, err := tls.LoadX509KeyPair(certFile, keyFile)
				if err != nil {
					return fmt.Errorf("TLS certificate: %w", err)
				}
				hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
				scheme = "https"
			}
			url := fmt.Sprintf("%s://%s/", scheme, displayAddr(ln.Addr()))
			fmt.Fprintf(cmd.OutOrStdout(), "voicesim serving on %s — open it in a browser (Ctrl-C to stop)\n", url)
			log.Info("serving", zap.String("url", url), zap.String("preset", preset), zap.Int("max_sessions", maxSessions))

			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			errc := make(chan error, 1)
			go func() {
				if hs.TLSConfig != nil {
					errc <- hs.ServeTLS(ln, "", "")
				} else {
					errc <- hs.Serve(ln)
				}
			}()
			select {
			case err := <-errc:
				return fmt.Errorf("serve: %w", err)
			case <-ctx.Done():
			}
			log.Info("shutting down", zap.Int("sessions", srv.Sessions()))
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// The listener stops taking connections while the sessions,
			// which it does not track once upgraded, close one by one.
			go func() { _ = hs.Shutdown(sctx) }()
			if err := srv.Shutdown(sctx); err != nil {
				log.Warn("shutdown incomplete", zap.Error(err))
				return err
			}
			log.Info("stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (loopback by default)")
	f.StringVar(&preset, "preset", "cascaded-streaming", "architecture for sessions that name none")
	f.StringVar(&certFile, "tls-cert", "", "TLS certificate file (PEM)")
	f.StringVar(&keyFile, "tls-key", "", "TLS private key file (PEM)")
	f.BoolVar(&selfSigned, "tls-self-signed", false, "serve HTTPS with an in-memory self-signed certificate for localhost and --addr's host")
	f.StringSliceVar(&origins, "allowed-origins", nil, "browser origins allowed besides the server's own host (e.g. https://example.com; * for any)")
	f.StringVar(&apiKey, "api-key", "", "require this key of OpenAI Realtime clients on /v1/realtime (bearer or openai-insecure-api-key subprotocol)")
	f.IntVar(&maxSessions, "max-sessions", 1000, "concurrent sessions; more are refused with a close reason")
	f.StringVar(&record, "record", "", "folder for each session's timeline and metrics (JSON, written when it ends)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// displayAddr is a listening address as a browser should be pointed at it.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
