// tasklets/random.hpp — random numbers that are the same on every architecture, compiler
// and standard library for the same seed, from a generator whose state is serialisable
// (tasklets/serial.hpp), so that a saved simulation draws, after a restore, exactly the
// numbers it would have drawn (docs/durable.md).
//
// std's engines are specified exactly, but its distributions are not:
// std::uniform_int_distribution gives other numbers under libstdc++, libc++ and MSVC's
// library, and std::shuffle may too. Here the generator and each way of drawing from it
// are fixed algorithms, written out in kernel/durable/encoding/random.cpp:
//
//   the generator   xoshiro256** 1.0 (Blackman and Vigna), its 256-bit state filled from
//                   the seed by SplitMix64
//   below(n)        Lemire's multiply-and-reject, so uniform in [0, n) with no modulo bias
//   between(a, b)   a + below(b - a + 1), or the raw 64 bits when that range is all of them
//   unit()          the top 53 bits of one output, times 2^-53: uniform in [0, 1)
//   chance(p)       unit() < p
//   shuffle         Fisher-Yates from the back, drawing below(i + 1) for each i
//
// Tasklets on one thread that share a generator draw in the order they run, which the
// scheduler fixes (docs/semantics.md), so a single-thread simulation is reproducible.
// Across threads, give each its own generator (split()).
#pragma once

#include <tasklets/serial.hpp>

#include <array>
#include <cstdint>
#include <iterator>
#include <utility>

namespace tasklets {

/// A seeded pseudo-random generator (xoshiro256**). Also a
/// std::uniform_random_bit_generator, for code that takes one. Not for cryptography.
class random_generator {
public:
    using result_type = std::uint64_t;

    /// The state SplitMix64 makes from `seed`: every seed gives a valid, distinct state.
    explicit random_generator(std::uint64_t seed = 0) noexcept;

    static constexpr result_type min() noexcept { return 0; }
    static constexpr result_type max() noexcept { return ~result_type{0}; }
    /// The next 64 random bits.
    result_type operator()() noexcept;

    /// Uniform in [0, n). Throws std::invalid_argument if n is 0.
    std::uint64_t below(std::uint64_t n);
    /// Uniform in [lo, hi], both included. Throws std::invalid_argument if lo > hi.
    std::int64_t between(std::int64_t lo, std::int64_t hi);
    /// Uniform in [0, 1), in steps of 2^-53.
    double unit() noexcept;
    /// True with probability p. Throws std::invalid_argument unless 0 <= p <= 1.
    bool chance(double p);
    /// Puts [first, last) in a random order (every order equally likely).
    template <class RandomIt>
    void shuffle(RandomIt first, RandomIt last) {
        using std::swap;
        for (auto i = last - first - 1; i > 0; --i)
            swap(first[i], first[static_cast<decltype(i)>(below(static_cast<std::uint64_t>(i) + 1))]);
    }

    /// A generator for another thread or agent: this one jumps 2^128 outputs ahead and
    /// the returned one starts where this one was, so their sequences do not overlap for
    /// 2^128 draws (xoshiro256**'s jump polynomial).
    random_generator split() noexcept;

    friend bool operator==(const random_generator&, const random_generator&) = default;

private:
    friend struct serial<random_generator>;
    std::array<std::uint64_t, 4> s_{};
};

/// Serialised as its four state words; a state of all zeros (which the generator never
/// reaches) is refused with image_error.
template <>
struct serial<random_generator> {
    static void save(serial_writer& w, const random_generator& g) { w(g.s_); }
    static void load(serial_reader& r, random_generator& g);
};

}  // namespace tasklets
