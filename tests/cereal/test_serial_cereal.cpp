// The cereal adapter (tasklets/serial_cereal.hpp): a type that only cereal knows how to
// serialise round-trips through serial_writer and serial_reader, with the exact bytes of
// cereal's portable binary archive (so the same on every architecture), while standard
// types and fields() types keep tasklets' own encoding; bytes cereal cannot read are an
// image_error. Built when cereal's headers are found (tests/CMakeLists.txt).
#include <catch2/catch.hpp>
#include <tasklets/image.hpp>
#include <tasklets/serial_cereal.hpp>

#include "support/hex.hpp"

#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <string>
#include <vector>

namespace {

// What a program already has: serialised by a cereal member function.
struct inventory {
    std::string owner;
    std::vector<std::int32_t> items;
    double weight = 0;
    template <class Archive>
    void serialize(Archive& ar) {
        ar(owner, items, weight);
    }
    friend bool operator==(const inventory&, const inventory&) = default;
};

// And one with separate save and load, versioned.
class position {
public:
    position() = default;
    position(std::int64_t x, std::int64_t y) : x_(x), y_(y) {}
    template <class Archive>
    void save(Archive& ar, std::uint32_t) const {
        ar(x_, y_);
    }
    template <class Archive>
    void load(Archive& ar, std::uint32_t) {
        ar(x_, y_);
    }
    friend bool operator==(const position&, const position&) = default;

private:
    std::int64_t x_ = 0, y_ = 0;
};

using tasklets_test::hex;

}  // namespace

static_assert(tasklets::serialisable<inventory>);
static_assert(tasklets::serialisable<position>);

TEST_CASE("serial_cereal: a cereal type round-trips inside tasklets' encoding and an image", "[serial][cereal]") {
    const inventory inv{"ant", {3, -4, 5}, 2.5};
    const position pos{-7, 1LL << 40};
    tasklets::serial_writer w;
    w(inv, std::string("between"), pos);
    tasklets::image_writer image;
    image.add(tasklets::section_tag("CRL1"), w);
    const std::vector<std::byte> bytes = image.finish();

    tasklets::image_reader r(bytes);
    tasklets::serial_reader s = r.open(tasklets::section_tag("CRL1"));
    inventory inv2;
    std::string between;
    position pos2;
    s(inv2, between, pos2);
    s.expect_end();
    CHECK(inv2 == inv);
    CHECK(between == "between");
    CHECK(pos2 == pos);
}

TEST_CASE("serial_cereal: the bytes are a count and cereal's little-endian portable binary archive", "[serial][cereal]") {
    // 1 byte of archive flags (1: little-endian data), then the string's 8-byte size and
    // characters, the vector's size and elements, the double: 31 bytes, counted first.
    CHECK(hex(tasklets::to_bytes(inventory{"ab", {1}, 1.0})) ==
          "1f"
          "01"
          "0200000000000000" "6162"
          "0100000000000000" "01000000"
          "000000000000f03f");
    // Standard types keep tasklets' encoding even with cereal/types/*.hpp included.
    CHECK(hex(tasklets::to_bytes(std::vector<int>{1, -1})) == "020201");
    CHECK(hex(tasklets::to_bytes(std::string("hi"))) == "026869");
}

TEST_CASE("serial_cereal: bytes cereal cannot read, or reads only in part, are an image_error", "[serial][cereal]") {
    std::vector<std::byte> bytes = tasklets::to_bytes(inventory{"ab", {1}, 1.0});
    // The string's size made 100: cereal runs out of bytes. (Not a size above 4 GiB: on
    // 32-bit targets cereal takes it modulo 2^32 and may read on without noticing; an
    // image's checksum is what catches such damage.)
    std::vector<std::byte> longer_string = bytes;
    longer_string[2] = std::byte{100};
    try {
        (void)tasklets::from_bytes<inventory>(longer_string);
        FAIL("read a string longer than its bytes");
    } catch (const tasklets::image_error& e) {
        const std::string what = e.what();
        INFO(what);
        CHECK(what.rfind("tasklets: serialised data, byte 32 of 32: cereal could not read a (anonymous namespace)::inventory "
                         "from its 31 bytes: Failed to read 100 bytes from input stream! Read ", 0) == 0);
    }
    // One byte more inside the blob than cereal uses.
    std::vector<std::byte> longer = bytes;
    longer[0] = std::byte{0x20};
    longer.push_back(std::byte{0});
    try {
        (void)tasklets::from_bytes<inventory>(longer);
        FAIL("accepted a blob with a byte left over");
    } catch (const tasklets::image_error& e) {
        const std::string what = e.what();
        INFO(what);
        CHECK(what == "tasklets: serialised data, byte 33 of 33: cereal read a (anonymous namespace)::inventory "
                      "without using all of its 32 bytes");
    }
}
