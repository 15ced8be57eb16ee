// A lock for the critical sections that threads meet in: a shared channel's queue, a
// thread's inbox. Each holds it for a few dozen instructions and never blocks inside.
//
// std::mutex (pthread_mutex_lock and _unlock, about 50 instructions a pair uncontended,
// and 40 bytes) was the largest single cost of a pool tasklet's life: skynet's tasklets
// took four pairs each, 12 % of their instructions (callgrind, skynet/tasklets_pool_1worker).
// This one is an exchange to take it and a store to give it back, in 4 bytes, so that
// what it guards shares its cache line. Contended, it spins on a plain load (the line stays
// shared until the holder lets go) for a short while, then gives the CPU away with
// sched_yield: on a machine with more runnable threads than cores the holder may be the
// thread that needs the CPU.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace tasklets::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
    asm volatile("yield");
#endif
}

class spin_lock {
public:
    void lock() noexcept {
        // acquire: the critical section sees everything the previous holder wrote in its
        // own (published by the release in unlock()).
        if (state_.exchange(1, std::memory_order_acquire) == 0) return;
        lock_contended();
    }
    bool try_lock() noexcept { return state_.exchange(1, std::memory_order_acquire) == 0; }
    void unlock() noexcept { state_.store(0, std::memory_order_release); }

private:
    void lock_contended() noexcept {
        for (unsigned spins = 0;;) {
            // relaxed: only a hint that it may be free; the exchange below decides.
            while (state_.load(std::memory_order_relaxed) != 0) {
                if (++spins < 128) cpu_relax();
                else std::this_thread::yield();
            }
            if (state_.exchange(1, std::memory_order_acquire) == 0) return;
        }
    }
    // 32 bits, not a byte: RISC-V has no byte-sized atomic exchange (GCC 12 would call
    // libatomic for one).
    std::atomic<std::uint32_t> state_{0};
};

}  // namespace tasklets::detail
