package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/civicport/civicport/pubsub"
	"github.com/civicport/civicport/pubsub/bridge"
	"github.com/civicport/civicport/pubsub/shutdown"
)

func newBridgeCmd() *cobra.Command {
	var (
		from, to  string
		untilIdle time.Duration
		workers   int
	)
	cmd := &cobra.Command{
		Use:   "bridge --from-subscription URL --to-topic URL [--until-idle D]",
		Short: "Drain a subscription on one provider into a topic on another during a cutover",
		Long: `bridge receives every message from --from-subscription and publishes it, body
and metadata unchanged, to --to-topic. A message is acked on the source only
after the destination accepted it, so a bridge that is killed loses nothing:
run it again and what was not acked is forwarded then. A message can reach the
destination twice that way; consumers that must not count it twice read
through civicport's Dedup (dedup.Wrap), which knows the copy by its
civicport-id metadata or body hash.

Without --until-idle the bridge runs until interrupted (SIGINT or SIGTERM),
then sends its last acks and stops. With --until-idle D it stops once no
message has arrived for D: the source is drained.

Exit status: 0 drained or stopped by a signal, 1 the destination refused a
message (it stays on the source), 2 bad usage or a URL that cannot be opened.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return fmt.Errorf("--from-subscription and --to-topic are both required")
			}
			if untilIdle < 0 {
				return fmt.Errorf("--until-idle %v: want 0 (run until interrupted) or a positive duration", untilIdle)
			}
			if workers < 1 {
				return fmt.Errorf("--workers %d: want 1 or more", workers)
			}
			ctx := cmd.Context()
			sub, err := pubsub.OpenSubscription(ctx, from)
			if err != nil {
				return fmt.Errorf("--from-subscription: %w", err)
			}
			topic, err := pubsub.OpenTopic(ctx, to)
			if err != nil {
				_ = shutdown.Subscription(context.Background(), sub)
				return fmt.Errorf("--to-topic: %w", err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "bridge: %s -> %s\n", pubsub.Redact(from), pubsub.Redact(to))
			start := time.Now()
			p := newBridgeProgress(cmd.ErrOrStderr())
			stats, err := bridge.Run(ctx, sub, topic, &bridge.Options{UntilIdle: untilIdle, Workers: workers, Progress: p.update})
			p.stop()
			// Send the last acks (and let the topic flush) even after a signal.
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			serr := errors.Join(shutdown.Subscription(sctx, sub), shutdown.Topic(sctx, topic))
			fmt.Fprintf(out, "bridge: forwarded %d messages (%d bytes) in %s, refused %d\n",
				stats.Forwarded, stats.Bytes, time.Since(start).Round(time.Millisecond), stats.Failed)
			switch {
			case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
				// Stopped by a signal: a normal end for a bridge without --until-idle.
			case stats.Failed > 0 && err != nil:
				return &problemError{msg: pubsub.Describe(err, to)}
			case err != nil: // receiving from the source failed
				return fmt.Errorf("--from-subscription: %s", pubsub.Describe(err, from))
			}
			if serr != nil {
				return &problemError{msg: fmt.Sprintf("bridge: closing: %v", serr)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from-subscription", "", "subscription URL to drain (the old provider)")
	f.StringVar(&to, "to-topic", "", "topic URL to publish to (the new provider)")
	f.DurationVar(&untilIdle, "until-idle", 0, "stop once no message has arrived for this long (0: run until interrupted)")
	f.IntVar(&workers, "workers", 8, "messages forwarded at once (1 keeps the source's order)")
	return cmd
}

// bridgeProgress prints a running count on a terminal, at most every 200 ms.
type bridgeProgress struct {
	mu   sync.Mutex
	w    io.Writer
	on   bool
	last time.Time
	any  bool
}

func newBridgeProgress(w io.Writer) *bridgeProgress {
	return &bridgeProgress{w: w, on: isTerminal(w)}
}

func (p *bridgeProgress) update(s bridge.Stats) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.any = true
	fmt.Fprintf(p.w, "\rbridge: %d forwarded, %d bytes, %d refused", s.Forwarded, s.Bytes, s.Failed)
}

func (p *bridgeProgress) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.any {
		fmt.Fprintln(p.w)
	}
}
