package dudect

import (
	"math"
	"testing"
)

func TestWelch(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []float64
		want float64
	}{
		// means 2 and 5, variances 1 and 1, 3 samples each:
		// (2-5)/sqrt(1/3+1/3).
		{"apart", []float64{1, 2, 3}, []float64{4, 5, 6}, -3 / math.Sqrt(2.0/3)},
		{"same", []float64{1, 2, 3}, []float64{3, 2, 1}, 0},
		{"one sample", []float64{1}, []float64{4, 5, 6}, 0},
		{"no variance", []float64{2, 2}, []float64{2, 2}, 0},
	} {
		if got := Welch(tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: Welch = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPercentileCrop(t *testing.T) {
	x := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	cut := percentile(x, 0.90)
	if cut != 9 {
		t.Fatalf("90th percentile = %v, want 9", cut)
	}
	if got := crop(x, cut); len(got) != 9 {
		t.Errorf("crop kept %d samples, want 9", len(got))
	}
}
