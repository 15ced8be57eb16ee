// tasklets/random.hpp: the same numbers for the same seed on every architecture (these
// golden values were computed by an independent Python model of the documented algorithms,
// and the suite runs under QEMU on every port and under Wine), the published xoshiro256**
// test vector, the ranges each draw keeps to, and a state that survives serialisation.
#include <catch2/catch.hpp>
#include <tasklets/random.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

using tasklets::random_generator;

static_assert(std::uniform_random_bit_generator<random_generator>);

namespace {

// A generator in a given state, through its serialised form (four state words).
random_generator with_state(std::array<std::uint64_t, 4> s) {
    return tasklets::from_bytes<random_generator>(tasklets::to_bytes(s));
}

}  // namespace

TEST_CASE("random: xoshiro256** gives its published test vector, and SplitMix64 seeds it", "[random]") {
    random_generator g = with_state({1, 2, 3, 4});
    const std::vector<std::uint64_t> got{g(), g(), g(), g(), g(), g()};
    CHECK(got == std::vector<std::uint64_t>{11520u, 0u, 1509978240u, 1215971899390074240u, 1216172134540287360u,
                                            607988272756665600u});
    // Seed 0: the state is SplitMix64's first four outputs from 0 (0xe220a8397b1dcdaf, ...).
    CHECK(with_state({0xe220a8397b1dcdafull, 0x6e789e6aa1b965f4ull, 0x06c45d188009454full, 0xf88bb8a8724c81ecull}) ==
          random_generator(0));
    random_generator zero(0);
    CHECK(zero() == 0x99ec5f36cb75f2b4ull);
    CHECK(zero() == 0xbf6e1f784956452aull);
    CHECK(zero() == 0x1a5f849d4933e6e0ull);
}

TEST_CASE("random: each way of drawing gives the documented numbers, the same everywhere", "[random]") {
    random_generator g(42);
    const std::vector<std::uint64_t> below{g.below(1), g.below(2), g.below(6), g.below(10), g.below(1000),
                                           g.below((std::uint64_t{1} << 63) + 1), g.below(std::numeric_limits<std::uint64_t>::max())};
    CHECK(below == std::vector<std::uint64_t>{0, 0, 4, 9, 991, 7099593415032875292u, 13267978908934200753u});

    random_generator h(42);
    std::vector<std::int64_t> between;
    for (int i = 0; i < 8; ++i) between.push_back(h.between(-5, 5));
    CHECK(between == std::vector<std::int64_t>{-5, -1, 2, 5, 5, 3, 2, 4});
    CHECK(h.between(std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()) ==
          4821506313837569150);

    random_generator u(7);
    CHECK(u.unit() == 0.7005764821796896);
    CHECK(u.unit() == 0.2787512294737843);
    CHECK(u.unit() == 0.8396274618764198);

    random_generator s(2026);
    std::vector<int> v(10);
    std::iota(v.begin(), v.end(), 0);
    s.shuffle(v.begin(), v.end());
    CHECK(v == std::vector<int>{0, 1, 8, 9, 3, 4, 7, 6, 2, 5});
}

TEST_CASE("random: draws keep to their ranges, and bad ranges say what is wrong", "[random]") {
    random_generator g(1);
    std::array<int, 6> seen{};
    for (int i = 0; i < 6000; ++i) {
        const std::int64_t d = g.between(1, 6);
        REQUIRE(d >= 1);
        REQUIRE(d <= 6);
        ++seen[static_cast<std::size_t>(d - 1)];
        const double x = g.unit();
        REQUIRE(x >= 0.0);
        REQUIRE(x < 1.0);
    }
    for (int n : seen) CHECK(n > 800);  // each face about 1000 times (binomial sd ~29)
    CHECK_FALSE(g.chance(0.0));
    CHECK(g.chance(1.0));
    CHECK_THROWS_WITH(g.below(0), "tasklets: random_generator::below(0): the range [0, 0) is empty");
    CHECK_THROWS_WITH(g.between(3, 2), "tasklets: random_generator::between(3, 2): the low end is above the high end");
    CHECK_THROWS_WITH(g.chance(1.5), "tasklets: random_generator::chance(1.500000): a probability is between 0 and 1");
    // Works with <algorithm> and <random> as any uniform random bit generator.
    std::vector<int> w{1, 2, 3};
    std::shuffle(w.begin(), w.end(), g);
    CHECK(std::is_permutation(w.begin(), w.end(), std::vector<int>{1, 2, 3}.begin()));
}

TEST_CASE("random: a saved generator continues where it stopped, and a zero state is refused", "[random]") {
    random_generator g(99);
    for (int i = 0; i < 10; ++i) (void)g();
    const std::vector<std::byte> saved = tasklets::to_bytes(g);
    random_generator restored = tasklets::from_bytes<random_generator>(saved);
    CHECK(restored == g);
    for (int i = 0; i < 100; ++i) REQUIRE(restored() == g());
    try {
        (void)with_state({0, 0, 0, 0});
        FAIL("loaded an all-zero state");
    } catch (const tasklets::image_error& e) {
        CHECK(std::string(e.what()) == "tasklets: serialised data, byte 4 of 4: a random_generator's state is all "
                                       "zeros, which xoshiro256** never reaches");
    }
}

TEST_CASE("random: split() gives a generator whose sequence does not meet its parent's", "[random]") {
    random_generator parent(5);
    const random_generator before = parent;
    random_generator child = parent.split();
    CHECK(child == before);   // the child starts where the parent was
    CHECK_FALSE(parent == before);  // the parent jumped 2^128 ahead
    std::vector<std::uint64_t> a, b;
    for (int i = 0; i < 1000; ++i) {
        a.push_back(parent());
        b.push_back(child());
    }
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    std::vector<std::uint64_t> common;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
    CHECK(common.empty());
}
