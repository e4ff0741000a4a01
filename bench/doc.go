// Package bench holds Herald's throughput benchmarks. Each one measures
// Herald and a reference in the same run, on the same emulator, so the
// figures in BENCHMARKS.md are ratios that survive a noisy machine.
//
// Run them with
//
//	go test -run '^$' -bench . -benchtime 20000x ./bench/
//
// The package has no non-test code besides this comment.
package bench
