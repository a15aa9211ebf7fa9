// Package dudect holds the statistics of the dudect-style leak benchmarks
// (Reparaz, Balasch, Verbauwhede, "Dude, is my code constant time?", DATE
// 2017): BenchmarkExpLeak in internal/ctexp and BenchmarkSignDSALeak in
// x509legacy time one operation per iteration on a secret drawn at random
// from one of two classes, and Report compares the classes' times. |t|
// above about 4.5 means the classes are distinguishable: the time depends
// on the secret. It measures; it asserts nothing.
package dudect

import (
	"math"
	"slices"
	"testing"
)

// Report reports on b Welch's t statistic between the two classes' times
// (in ns), as "t" over all samples and as "t-cropped" after dropping the
// slowest 10% of all samples (preemptions, GC), and each class's mean time
// ("A-ns", "B-ns").
func Report(b *testing.B, times [2][]float64) {
	b.ReportMetric(Welch(times[0], times[1]), "t")
	cut := percentile(slices.Concat(times[0], times[1]), 0.90)
	b.ReportMetric(Welch(crop(times[0], cut), crop(times[1], cut)), "t-cropped")
	b.ReportMetric(mean(times[0]), "A-ns")
	b.ReportMetric(mean(times[1]), "B-ns")
}

// Welch returns Welch's t statistic for the means of a and b (0 when a
// class has fewer than two samples).
func Welch(a, b []float64) float64 {
	if len(a) < 2 || len(b) < 2 {
		return 0
	}
	va, vb := variance(a), variance(b)
	d := math.Sqrt(va/float64(len(a)) + vb/float64(len(b)))
	if d == 0 {
		return 0
	}
	return (mean(a) - mean(b)) / d
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func variance(x []float64) float64 {
	m, s := mean(x), 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return s / float64(len(x)-1)
}

func percentile(x []float64, p float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

func crop(x []float64, cut float64) []float64 {
	var out []float64
	for _, v := range x {
		if v <= cut {
			out = append(out, v)
		}
	}
	return out
}
