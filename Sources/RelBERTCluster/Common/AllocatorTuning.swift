#if canImport(Glibc)
import Glibc
#endif

/// Tells glibc's malloc to keep freed memory instead of returning it to the kernel.
///
/// A training step moves ~44 MB frames both ways (gradients, updates). By default glibc serves
/// allocations that large with a fresh `mmap` and unmaps them on free, so every step faults in and
/// zeroes ~11k new pages per frame on each side (`clear_page_erms` was 13% of the cluster's CPU time
/// under `perf`). Serving them from the heap, which is not trimmed, reuses the same pages step after step.
public enum AllocatorTuning {
    public static func keepFreedMemory() {
        #if canImport(Glibc)
        // mallopt is not in Swift's Glibc module; glibc's <malloc.h> numbers its parameters.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, mmapMax: Int32 = -4
        _ = mallopt(mmapMax, 0)
        _ = mallopt(trimThreshold, Int32.max)
        #endif
    }
}
