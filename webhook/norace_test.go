//go:build !race

package webhook_test

// slowdown is how much slower code runs under the race detector: time
// bounds that hold for the program as built are multiplied by it.
const slowdown = 1
