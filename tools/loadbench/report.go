package main

import (
	"fmt"
	"io"
	"time"
)

func ms(d time.Duration) string {
	if d < 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", d.Seconds())
}

func mib(b int64) string { return fmt.Sprintf("%.0f", float64(b)/(1<<20)) }

// printResults writes two Markdown tables: throughput and delay, then CPU
// and memory per process.
func printResults(w io.Writer, o options, rs []*result) {
	fmt.Fprintf(w, "\ntarget %.0f inference records/s, %s per run (first %s left out), windows of %s event time = %d records (%.1f s at the target rate), out-of-orderness %s, lateness %s, %d partitions\n\n",
		o.rate, o.duration, o.warmup, o.window, o.windowEvents, float64(o.windowEvents)/max(o.rate, 1), o.outOfOrder, o.lateness, o.partitions)
	fmt.Fprintln(w, "| models × features | produced rec/s | adapter rec/s | adapter drained after (s) | drift L1 rec/s | max lag adapter / drift L1 | windows (no metrics) | delay p50 / p99 / max (s) | first metric p50 / p99 (s) | dead letters |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %d × %d | %.0f | %.0f | %s | %.0f | %d / %d | %d (%d) | %s / %s / %s | %s / %s | %d |\n",
			r.cfg.models, r.cfg.features, r.produced.Rate, r.adapterRate, ms(r.adapterDrain), r.driftRate,
			r.adapterLagMax, r.driftLagMax, r.windows, r.missing, ms(r.delay[0]), ms(r.delay[1]), ms(r.delay[2]),
			ms(r.firstDelay[0]), ms(r.firstDelay[1]), r.deadLetters)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| models × features | wall (s) | CPU s (cores) loadgen | adapter | drift-aggregator | kafka | CPU µs/record adapter | drift-aggregator | peak RSS MiB adapter | drift-aggregator | kafka | peak Go heap MiB 1st / 2nd half adapter | drift-aggregator |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		sec := r.elapsed.Seconds()
		cpu := func(name string) string {
			u, ok := r.use[name]
			if !ok {
				return "–"
			}
			return fmt.Sprintf("%.1f (%.2f)", u.cpu, u.cpu/sec)
		}
		per := func(name string, n int64) string {
			if n <= 0 {
				return "–"
			}
			return fmt.Sprintf("%.1f", r.use[name].cpu/float64(n)*1e6)
		}
		fmt.Fprintf(w, "| %d × %d | %.0f | %.1f (%.2f) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.cfg.models, r.cfg.features, sec, r.loadgenCPU, r.loadgenCPU/sec, cpu("adapter"), cpu("drift-aggregator"), cpu("kafka"),
			per("adapter", r.adapterRecords), per("drift-aggregator", r.driftRecords),
			mib(r.use["adapter"].hwm), mib(r.use["drift-aggregator"].hwm), mib(r.use["kafka"].hwm),
			mib(r.peakHeap["adapter"])+" / "+mib(r.peakHeap2["adapter"]), mib(r.peakHeap["drift-aggregator"])+" / "+mib(r.peakHeap2["drift-aggregator"]))
	}
}
