package ctexp

// CacheSize and CacheLen let the external tests check the cache's bound.
const CacheSize = cacheSize

func CacheLen() int {
	cache.Lock()
	defer cache.Unlock()
	return len(cache.m)
}

// Cached is the cache lookup, for BenchmarkPrepare.
var Cached = cached
