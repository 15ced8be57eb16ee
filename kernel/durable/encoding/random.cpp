// The fixed algorithms of tasklets/random.hpp. Each is written out, not taken from
// <random>, because the point is that no library's choices enter the numbers.
#include <tasklets/random.hpp>

#include <stdexcept>
#include <string>

namespace tasklets {

namespace {

constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// The 128-bit product a * b as (high, low) words, without __int128 (32-bit targets lack it).
void multiply(std::uint64_t a, std::uint64_t b, std::uint64_t& high, std::uint64_t& low) noexcept {
    const std::uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
    const std::uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    const std::uint64_t middle = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
    low = (middle << 32) | (p00 & 0xFFFFFFFFu);
    high = p11 + (p01 >> 32) + (p10 >> 32) + (middle >> 32);
}

}  // namespace

random_generator::random_generator(std::uint64_t seed) noexcept {
    for (std::uint64_t& word : s_) word = splitmix64(seed);
}

random_generator::result_type random_generator::operator()() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

std::uint64_t random_generator::below(std::uint64_t n) {
    if (n == 0) throw std::invalid_argument("tasklets: random_generator::below(0): the range [0, 0) is empty");
    // Lemire, "Fast random integer generation in an interval" (2019): the high word of
    // x * n is uniform in [0, n) once the low word's values that would bias it are
    // rejected, which needs a division only when the low word is small.
    std::uint64_t high, low;
    multiply((*this)(), n, high, low);
    if (low < n) {
        const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
        while (low < threshold) multiply((*this)(), n, high, low);
    }
    return high;
}

std::int64_t random_generator::between(std::int64_t lo, std::int64_t hi) {
    if (lo > hi)
        throw std::invalid_argument("tasklets: random_generator::between(" + std::to_string(lo) + ", " +
                                    std::to_string(hi) + "): the low end is above the high end");
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    const std::uint64_t offset = span == max() ? (*this)() : below(span + 1);
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + offset);
}

double random_generator::unit() noexcept { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

bool random_generator::chance(double p) {
    if (!(p >= 0.0 && p <= 1.0))
        throw std::invalid_argument("tasklets: random_generator::chance(" + std::to_string(p) +
                                    "): a probability is between 0 and 1");
    return unit() < p;
}

random_generator random_generator::split() noexcept {
    random_generator child = *this;
    // xoshiro256**'s jump: the state 2^128 steps ahead, as a combination of the states
    // along the way selected by the jump polynomial's bits (Blackman and Vigna).
    static constexpr std::uint64_t jump[] = {0x180EC6D33CFD0ABAull, 0xD5A61266F0C9392Cull, 0xA9582618E03FC9AAull,
                                             0x39ABDC4529B1661Cull};
    std::array<std::uint64_t, 4> ahead{};
    for (std::uint64_t word : jump)
        for (int b = 0; b < 64; ++b) {
            if (word & (std::uint64_t{1} << b))
                for (int i = 0; i < 4; ++i) ahead[i] ^= s_[i];
            (void)(*this)();
        }
    s_ = ahead;
    return child;
}

void serial<random_generator>::load(serial_reader& r, random_generator& g) {
    std::array<std::uint64_t, 4> s{};
    r(s);
    if (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0)
        r.fail("a random_generator's state is all zeros, which xoshiro256** never reaches");
    g.s_ = s;
}

}  // namespace tasklets
