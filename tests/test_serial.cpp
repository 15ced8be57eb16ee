// The byte encoding of durable images (tasklets/serial.hpp): the exact bytes of each
// built-in type (so that an image reads the same on every architecture: these tests run
// under QEMU on big-endian s390x too), round trips, and a clear image_error for every
// malformed or truncated input.
#include <catch2/catch.hpp>
#include <tasklets/serial.hpp>

#include "support/hex.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

using tasklets::image_error;
using tasklets::serial_reader;
using tasklets::serial_writer;

namespace {

using tasklets_test::hex;
using tasklets_test::unhex;

template <class T>
T round_trip(const T& value) {
    return tasklets::from_bytes<T>(tasklets::to_bytes(value));
}

// The message of the image_error that reading a T from `bytes` throws ("" if none).
template <class T>
std::string read_error(const std::vector<std::byte>& bytes) {
    try {
        (void)tasklets::from_bytes<T>(bytes);
    } catch (const image_error& e) {
        return e.what();
    }
    return "";
}

struct agent {
    int id = 0;
    std::string name;
    std::vector<double> path;
    std::optional<std::pair<int, int>> target;
    template <class F>
    void fields(F& f) {
        f(id, name, path, target);
    }
    friend bool operator==(const agent&, const agent&) = default;
};

enum class mood : std::int16_t { calm = -2, busy = 300 };

struct empty_tag {
    template <class F>
    void fields(F&) {}
    friend bool operator==(const empty_tag&, const empty_tag&) = default;
};

// A type serialised by a specialisation instead of fields(): two ints packed as one.
struct grid_cell {
    int x = 0, y = 0;
    friend bool operator==(const grid_cell&, const grid_cell&) = default;
};

}  // namespace

template <>
struct tasklets::serial<grid_cell> {
    static void save(serial_writer& w, const grid_cell& c) { w.unsigned_varint(static_cast<std::uint64_t>(c.x) * 1000 + static_cast<std::uint64_t>(c.y)); }
    static void load(serial_reader& r, grid_cell& c) {
        const std::uint64_t v = r.unsigned_varint("a grid cell");
        c.x = static_cast<int>(v / 1000);
        c.y = static_cast<int>(v % 1000);
    }
};

static_assert(tasklets::serialisable<agent>);
static_assert(tasklets::serialisable<std::map<std::string, std::vector<std::optional<int>>>>);
static_assert(tasklets::serialisable<grid_cell>);
static_assert(!tasklets::serialisable<std::thread::id>);  // no serial<std::thread::id>

TEST_CASE("serial: integers are varints of their value, the same bytes whatever their width or the architecture",
          "[serial]") {
    CHECK(hex(tasklets::to_bytes(0u)) == "00");
    CHECK(hex(tasklets::to_bytes(127u)) == "7f");
    CHECK(hex(tasklets::to_bytes(128u)) == "8001");
    CHECK(hex(tasklets::to_bytes(std::uint64_t{300})) == "ac02");
    CHECK(hex(tasklets::to_bytes(std::uint16_t{300})) == "ac02");  // the value, not the width
    CHECK(hex(tasklets::to_bytes(std::numeric_limits<std::uint64_t>::max())) == "ffffffffffffffffff01");
    // Signed: zigzag (0, -1, 1, -2 -> 0, 1, 2, 3), then the varint.
    CHECK(hex(tasklets::to_bytes(0)) == "00");
    CHECK(hex(tasklets::to_bytes(-1)) == "01");
    CHECK(hex(tasklets::to_bytes(1)) == "02");
    CHECK(hex(tasklets::to_bytes(-64L)) == "7f");
    CHECK(hex(tasklets::to_bytes(64LL)) == "8001");
    CHECK(hex(tasklets::to_bytes(std::numeric_limits<std::int64_t>::min())) == "ffffffffffffffffff01");
    // One-byte types are the byte itself; bool is 0 or 1.
    CHECK(hex(tasklets::to_bytes('A', static_cast<signed char>(-1), static_cast<unsigned char>(200), std::byte{7}, true,
                                 false)) == "41ffc8070100");
    CHECK(hex(tasklets::to_bytes(mood::calm, mood::busy)) == "03d804");
}

TEST_CASE("serial: integers round-trip at their limits, and a value too wide for its type is refused", "[serial]") {
    CHECK(round_trip(std::numeric_limits<std::int64_t>::min()) == std::numeric_limits<std::int64_t>::min());
    CHECK(round_trip(std::numeric_limits<std::int64_t>::max()) == std::numeric_limits<std::int64_t>::max());
    CHECK(round_trip(std::numeric_limits<std::uint64_t>::max()) == std::numeric_limits<std::uint64_t>::max());
    CHECK(round_trip(std::numeric_limits<std::int16_t>::min()) == std::numeric_limits<std::int16_t>::min());
    CHECK(round_trip(u'\xE9') == u'\xE9');
    CHECK(round_trip(U'\U0001F600') == U'\U0001F600');
    CHECK(round_trip(mood::busy) == mood::busy);
    // A long written where long is 64 bits, read where it is 32 (armhf, i386, Windows), or
    // any wide value read into a narrow type:
    CHECK(read_error<std::int32_t>(tasklets::to_bytes(std::int64_t{5000000000})) ==
          "tasklets: serialised data, byte 5 of 5: the signed integer 5000000000 does not fit in 32 bits");
    CHECK(read_error<std::uint16_t>(tasklets::to_bytes(70000u)) ==
          "tasklets: serialised data, byte 3 of 3: the unsigned integer 70000 does not fit in 16 bits");
    CHECK(read_error<std::int16_t>(tasklets::to_bytes(-32769)) ==
          "tasklets: serialised data, byte 3 of 3: the signed integer -32769 does not fit in 16 bits");
    CHECK(read_error<std::int32_t>(tasklets::to_bytes(std::int64_t{-2147483648LL})).empty());
}

TEST_CASE("serial: floats and doubles keep their exact bits: NaN payloads, -0.0, infinities, subnormals",
          "[serial]") {
    CHECK(hex(tasklets::to_bytes(1.0f)) == "0000803f");
    CHECK(hex(tasklets::to_bytes(-2.5)) == "00000000000004c0");
    // The values live in objects and are compared as bytes: on i386 a double passed or
    // returned by value goes through an x87 register, which quiets a signalling NaN
    // (0x7ff4... would come back 0x7ffc...), whatever the encoding does.
    const std::uint64_t bits[] = {0x7FF8000000000001ull, 0xFFF0000000000000ull, 0x8000000000000000ull,
                                  0x0000000000000001ull, 0x7FF4000000000abcull};
    for (std::uint64_t b : bits) {
        double in, out = 0;
        std::memcpy(&in, &b, sizeof b);
        const std::vector<std::byte> bytes = tasklets::to_bytes(in);
        serial_reader r(bytes);
        r(out);
        std::uint64_t got;
        std::memcpy(&got, &out, sizeof got);
        CHECK(got == b);
    }
    const std::uint32_t fbits[] = {0x7FC00123u, 0x80000000u, 0x00000001u, 0xFF800000u, 0x7F800001u};
    for (std::uint32_t b : fbits) {
        float in, out = 0;
        std::memcpy(&in, &b, sizeof b);
        const std::vector<std::byte> bytes = tasklets::to_bytes(in);
        serial_reader r(bytes);
        r(out);
        std::uint32_t got;
        std::memcpy(&got, &out, sizeof got);
        CHECK(got == b);
    }
}

TEST_CASE("serial: strings and containers are a count and their elements, and each round-trips", "[serial]") {
    CHECK(hex(tasklets::to_bytes(std::string("hi"))) == "026869");
    CHECK(hex(tasklets::to_bytes(std::vector<int>{1, -1})) == "020201");
    CHECK(hex(tasklets::to_bytes(std::array<std::uint8_t, 3>{1, 2, 3})) == "010203");
    CHECK(hex(tasklets::to_bytes(std::optional<int>{}, std::optional<int>{5})) == "00010a");
    CHECK(hex(tasklets::to_bytes(std::variant<int, std::string>{std::string("x")})) == "010178");
    CHECK(hex(tasklets::to_bytes(std::map<int, bool>{{2, true}, {1, false}})) == "0202000401");
    CHECK(hex(tasklets::to_bytes(std::vector<bool>{true, false, true})) == "03010001");

    const std::string bytes_with_nul("a\0b\xff", 4);
    CHECK(round_trip(bytes_with_nul) == bytes_with_nul);
    CHECK(round_trip(std::u32string(U"\U0001F600x")) == U"\U0001F600x");
    const std::map<std::string, std::vector<std::optional<int>>> m{{"a", {1, std::nullopt}}, {"", {}}};
    CHECK(round_trip(m) == m);
    const std::unordered_map<int, std::string> um{{1, "one"}, {2, "two"}, {3, ""}};
    CHECK(round_trip(um) == um);
    const std::unordered_set<std::string> us{"x", "y"};
    CHECK(round_trip(us) == us);
    const std::set<int> s{3, 1, 2};
    CHECK(round_trip(s) == s);
    const std::tuple<int, std::string, double, std::pair<char, bool>> t{-7, "seven", 7.5, {'7', true}};
    CHECK(round_trip(t) == t);
    const std::variant<int, std::string, std::vector<int>> v{std::vector<int>{4, 5}};
    CHECK(round_trip(v) == v);
    CHECK(round_trip(std::chrono::milliseconds(-1500)) == std::chrono::milliseconds(-1500));
    CHECK(round_trip(std::vector<empty_tag>(5)) == std::vector<empty_tag>(5));
    CHECK(round_trip(std::vector<grid_cell>{{3, 4}, {999, 0}}) == std::vector<grid_cell>{{3, 4}, {999, 0}});
}

TEST_CASE("serial: a type with a fields() member saves and loads its fields in order", "[serial]") {
    const agent a{42, "scout", {0.5, -1.25}, std::pair{3, 4}};
    CHECK(hex(tasklets::to_bytes(a)) ==
          "54"                                       // id 42, zigzag
          "0573636f7574"                             // "scout"
          "02000000000000e03f000000000000f4bf"       // two doubles
          "010608");                                 // an engaged pair (3, 4)
    CHECK(round_trip(a) == a);
    // Several values in one stream, read back in the same order.
    serial_writer w;
    w(a, std::string("then"), 7u);
    serial_reader r(w.bytes());
    agent b;
    std::string s;
    unsigned n = 0;
    r(b, s, n);
    r.expect_end();
    CHECK(b == a);
    CHECK(s == "then");
    CHECK(n == 7u);
}

TEST_CASE("serial: malformed bytes are refused with a message that says what and where", "[serial]") {
    CHECK(read_error<bool>(unhex("07")) == "tasklets: serialised data, byte 1 of 1: a bool must be 0 or 1, found 7");
    CHECK(read_error<std::optional<int>>(unhex("02")) ==
          "tasklets: serialised data, byte 1 of 1: an optional's flag must be 0 or 1, found 2");
    CHECK(read_error<std::variant<int, bool>>(unhex("0500")) ==
          "tasklets: serialised data, byte 1 of 2: a variant's index is 5, but it has 2 alternatives");
    CHECK(read_error<std::map<int, int>>(unhex("0202040206")) ==
          "tasklets: serialised data, byte 5 of 5: a map has a key twice");
    CHECK(read_error<std::set<int>>(unhex("020202")) == "tasklets: serialised data, byte 3 of 3: a set has an element twice");
    CHECK(read_error<std::uint64_t>(unhex("ffffffffffffffffff02")) ==
          "tasklets: serialised data, byte 0 of 10: an unsigned integer is wider than 64 bits");
    CHECK(read_error<std::uint64_t>(unhex("ffffffffffffffffff8001")) ==
          "tasklets: serialised data, byte 0 of 11: an unsigned integer is wider than 64 bits");
    CHECK(read_error<int>(unhex("0202")) ==
          "tasklets: serialised data, byte 1 of 2: 1 bytes are left after the last value: they were written as "
          "something else than what is being read");
    // A count no input of this size can hold is refused before anything is allocated.
    CHECK(read_error<std::vector<int>>(unhex("ffffffffffffffff7f00")) ==
          "tasklets: serialised data, byte 0 of 10: truncated or corrupted: a vector of 9223372036854775807 elements "
          "cannot fit in the 1 bytes left");
    CHECK(read_error<std::string>(unhex("0561")) ==
          "tasklets: serialised data, byte 0 of 2: truncated or corrupted: a string of 5 elements cannot fit in the 1 "
          "bytes left");
    CHECK(read_error<std::vector<empty_tag>>(unhex("ffffffff0f")) ==
          "tasklets: serialised data, byte 0 of 5: corrupted: a vector of 4294967295 empty elements is more than the "
          "1048576 allowed");
}

TEST_CASE("serial: every truncation of a value is an image_error, never a crash or a wrong value", "[serial]") {
    const std::map<std::string, agent> world{{"a", agent{1, "ant", {1.0}, std::nullopt}},
                                              {"b", agent{-300, "bee", {}, std::pair{-1, 70000}}}};
    const std::vector<std::byte> bytes = tasklets::to_bytes(world, 2.5f, std::string("end"));
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        const std::vector<std::byte> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
        serial_reader r(prefix);
        std::map<std::string, agent> w;
        float f = 0;
        std::string s;
        try {
            r(w, f, s);
            FAIL("a prefix of " << cut << " bytes read as a whole");
        } catch (const image_error& e) {
            const std::string what = e.what();
            INFO(cut << ": " << what);
            CHECK(what.rfind("tasklets: serialised data, byte ", 0) == 0);
            CHECK(what.find("truncated") != std::string::npos);
        }
    }
    serial_reader whole(bytes);
    std::map<std::string, agent> w;
    float f = 0;
    std::string s;
    whole(w, f, s);
    whole.expect_end();
    CHECK(w == world);
    CHECK(f == 2.5f);
    CHECK(s == "end");
}

TEST_CASE("serial: truncated primitives name what was being read", "[serial]") {
    CHECK(read_error<double>(unhex("000000")) ==
          "tasklets: serialised data, byte 0 of 3: truncated: a double of 8 bytes needs 5 more bytes than are left");
    CHECK(read_error<std::uint32_t>(unhex("80")) ==
          "tasklets: serialised data, byte 1 of 1: truncated: an unsigned integer ends before its last byte");
    CHECK(read_error<std::vector<int>>(unhex("")) ==
          "tasklets: serialised data, byte 0 of 0: truncated: a vector's count ends before its last byte");
    CHECK(read_error<char>(unhex("")) == "tasklets: serialised data, byte 0 of 0: truncated: a one-byte integer needs 1 more byte");
}

TEST_CASE("serial: a deque is a count and its elements, front to back, like a vector", "[serial]") {
    std::deque<std::uint32_t> d{300, 1, 2};
    d.push_front(7);
    CHECK(tasklets_test::hex(tasklets::to_bytes(d)) == "0407ac020102");
    CHECK(tasklets::to_bytes(d) == tasklets::to_bytes(std::vector<std::uint32_t>{7, 300, 1, 2}));
    CHECK(tasklets::from_bytes<std::deque<std::uint32_t>>(tasklets::to_bytes(d)) == d);
    CHECK_THROWS_WITH(tasklets::from_bytes<std::deque<std::uint32_t>>(tasklets_test::unhex("0501")),
                      "tasklets: serialised data, byte 0 of 2: truncated or corrupted: a deque of 5 elements cannot "
                      "fit in the 1 bytes left");
}
