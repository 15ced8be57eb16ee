// The durable image container (tasklets/image.hpp): its exact bytes (the same on every
// architecture, big-endian s390x included), and that every damaged image — each
// truncation, each flipped bit, another version, bytes that are not an image — is refused
// with an image_error that names the problem, before anything is read from it.
#include <catch2/catch.hpp>
#include <tasklets/image.hpp>

#include "support/hex.hpp"

#include <cstdint>
#include <filesystem>
#include <random>
#include <system_error>
#include <string>
#include <vector>

using tasklets::image_error;
using tasklets::image_reader;
using tasklets::image_writer;
using tasklets::section_tag;

namespace {

using tasklets_test::hex;

std::vector<std::byte> as_bytes(const std::string& s) {
    std::vector<std::byte> out;
    for (char c : s) out.push_back(static_cast<std::byte>(c));
    return out;
}

// The message of the image_error that reading `image` throws ("" if it reads).
std::string refusal(std::span<const std::byte> image) {
    try {
        image_reader r(image);
    } catch (const image_error& e) {
        return e.what();
    }
    return "";
}

// Two sections: a world of values and a small opaque blob.
std::vector<std::byte> sample_image() {
    tasklets::serial_writer world;
    world(std::string("ant"), -3, 2.5);
    image_writer w;
    w.add(section_tag("WRLD"), world);
    w.add(section_tag("BLOB"), as_bytes("xyz"));
    return w.finish();
}

void put32(std::vector<std::byte>& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::byte>(v >> (8 * i));
}

// Recomputes both checksums after an edit, so that a test reaches the check after them.
void reseal(std::vector<std::byte>& image) {
    put32(image, 24, tasklets::crc32c(std::span<const std::byte>(image).subspan(32)));
    put32(image, 28, tasklets::crc32c(std::span<const std::byte>(image).first(28)));
}

}  // namespace

TEST_CASE("image: CRC-32C gives the standard check value", "[image]") {
    CHECK(tasklets::crc32c(as_bytes("123456789")) == 0xE3069283u);
    CHECK(tasklets::crc32c({}) == 0u);
    // Continuing a checksum over a second part gives the checksum of the whole.
    const auto whole = as_bytes("durable tasklets");
    const auto part = tasklets::crc32c(std::span<const std::byte>(whole).first(7));
    CHECK(tasklets::crc32c(std::span<const std::byte>(whole).subspan(7), part) == tasklets::crc32c(whole));
}

TEST_CASE("image: the bytes are the documented layout, little-endian on every architecture", "[image]") {
    const std::vector<std::byte> image = sample_image();
    const std::string h = hex(image);
    CHECK(h.substr(0, 16) == "5441534b4c455453");  // "TASKLETS"
    CHECK(h.substr(16, 8) == "01000000");          // format version 1
    CHECK(h.substr(24, 8) == "02000000");          // two sections
    CHECK(h.substr(32, 16) == "2800000000000000");  // 40 bytes of sections follow
    // Sections: tag, size, bytes. WRLD: "ant", -3 (zigzag 5), 2.5.
    CHECK(h.substr(64) ==
          "57524c44" "0d00000000000000" "03616e74" "05" "0000000000000440"
          "424c4f42" "0300000000000000" "78797a");
    // The whole image, checksums included: what x86-64 wrote when this test was written.
    CHECK(h == "5441534b4c45545301000000020000002800000000000000fbe19de479769246"
               "57524c440d0000000000000003616e74050000000000000440424c4f42030000"
               "000000000078797a");
}

TEST_CASE("image: sections read back in order, by tag, and through a serial_reader", "[image]") {
    const std::vector<std::byte> image = sample_image();
    image_reader r(image);
    CHECK(r.version() == 1u);
    CHECK(r.tags() == std::vector<std::uint32_t>{section_tag("WRLD"), section_tag("BLOB")});
    CHECK(r.contains(section_tag("BLOB")));
    CHECK_FALSE(r.contains(section_tag("NONE")));
    CHECK(hex(r.section(section_tag("BLOB"))) == "78797a");
    tasklets::serial_reader world = r.open(section_tag("WRLD"));
    std::string name;
    int n = 0;
    double d = 0;
    world(name, n, d);
    world.expect_end();
    CHECK(name == "ant");
    CHECK(n == -3);
    CHECK(d == 2.5);
    // A section's reader names the section in its errors.
    try {
        (void)r.open(section_tag("BLOB")).read<double>();
        FAIL("read 8 bytes out of 3");
    } catch (const image_error& e) {
        CHECK(std::string(e.what()) ==
              "tasklets: section BLOB of a durable image, byte 0 of 3: truncated: a double of 8 bytes needs 5 more "
              "bytes than are left");
    }
    try {
        (void)r.section(section_tag("NONE"));
        FAIL("found a section that is not there");
    } catch (const image_error& e) {
        CHECK(std::string(e.what()) == "tasklets: durable image: it has no section NONE");
    }
    CHECK(image_reader(image_writer().finish()).tags().empty());
}

TEST_CASE("image: a tag is used once per image", "[image]") {
    image_writer w;
    w.add(section_tag("WRLD"), as_bytes("a"));
    try {
        w.add(section_tag("WRLD"), as_bytes("b"));
        FAIL("a second WRLD section was added");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()) ==
              "tasklets: image_writer::add: the image has a section WRLD already; each tag names one section");
    }
    CHECK(tasklets::section_name(0x01020304u) == "0x01020304");
}

TEST_CASE("image: every truncation is refused, naming how much is missing", "[image]") {
    const std::vector<std::byte> image = sample_image();
    for (std::size_t cut = 0; cut < image.size(); ++cut) {
        const std::string why = refusal(std::span<const std::byte>(image).first(cut));
        INFO("cut at " << cut << ": " << why);
        if (cut < 32) CHECK(why == "tasklets: durable image: truncated: " + std::to_string(cut) +
                                       " bytes, less than its 32-byte header");
        else CHECK(why == "tasklets: durable image: truncated: its header promises 40 bytes of sections, " +
                              std::to_string(cut - 32) + " are present");
    }
    CHECK(refusal(image).empty());
    std::vector<std::byte> longer = image;
    longer.push_back(std::byte{0});
    CHECK(refusal(longer) ==
          "tasklets: durable image: 1 bytes follow its last section: these bytes are not one whole image");
}

TEST_CASE("image: every single flipped bit is refused, and so are random multi-bit damages", "[image]") {
    const std::vector<std::byte> image = sample_image();
    for (std::size_t bit = 0; bit < image.size() * 8; ++bit) {
        std::vector<std::byte> bad = image;
        bad[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
        const std::string why = refusal(bad);
        INFO("bit " << bit << ": " << why);
        if (bit < 64) CHECK(why == "tasklets: not a durable image: it does not begin with \"TASKLETS\"");
        else if (bit < 256) CHECK(why.rfind("tasklets: durable image: corrupted: the checksum of its header is 0x", 0) == 0);
        else CHECK(why.rfind("tasklets: durable image: corrupted: the checksum of its sections is 0x", 0) == 0);
    }
    std::mt19937 rng(20261205);
    for (int trial = 0; trial < 2000; ++trial) {
        std::vector<std::byte> bad = image;
        const int flips = 2 + static_cast<int>(rng() % 7);
        for (int i = 0; i < flips; ++i) bad[64 + rng() % (image.size() - 64)] ^= static_cast<std::byte>(1u << (rng() % 8));
        if (bad == image) continue;  // the flips cancelled out
        CHECK_FALSE(refusal(bad).empty());
    }
}

TEST_CASE("image: another format version, or sections that do not add up, are refused by name", "[image]") {
    std::vector<std::byte> v2 = sample_image();
    put32(v2, 8, 2);
    reseal(v2);
    CHECK(refusal(v2) == "tasklets: durable image: format version 2; this build of tasklets reads version 1");

    std::vector<std::byte> more = sample_image();
    put32(more, 12, 3);  // claims a third section
    reseal(more);
    CHECK(refusal(more) == "tasklets: durable image: section 3 of 3 is missing");

    std::vector<std::byte> fewer = sample_image();
    put32(fewer, 12, 1);
    reseal(fewer);
    CHECK(refusal(fewer) == "tasklets: durable image: 15 bytes follow its 1 sections");

    std::vector<std::byte> twice = sample_image();
    put32(twice, 32 + 25, tasklets::section_tag("WRLD"));  // BLOB renamed WRLD
    reseal(twice);
    CHECK(refusal(twice) == "tasklets: durable image: section WRLD appears twice");

    std::vector<std::byte> oversized = sample_image();
    put32(oversized, 32 + 4, 1000);  // WRLD claims 1000 bytes
    reseal(oversized);
    CHECK(refusal(oversized) == "tasklets: durable image: section WRLD claims 1000 bytes, 28 are left");

    CHECK(refusal(as_bytes("TASK")) == "tasklets: durable image: truncated: 4 bytes, less than its 32-byte header");
    CHECK(refusal(as_bytes("PK\x03\x04 a zip file, not an image")) ==
          "tasklets: not a durable image: it does not begin with \"TASKLETS\"");
}

namespace {

// A directory of its own under the system's temporary directory, removed afterwards.
struct scratch_dir {
    std::filesystem::path path;
    scratch_dir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() / ("tasklets-image-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~scratch_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
};

}  // namespace

TEST_CASE("image: a file is replaced whole, and leaves no temporary file behind", "[image]") {
    scratch_dir dir;
    const auto file = dir.path / "world.img";
    const std::vector<std::byte> first = sample_image();
    tasklets::write_image_file(file, first);
    CHECK(tasklets::read_image_file(file) == first);
    image_writer w;
    w.add(section_tag("NEXT"), as_bytes("second save"));
    const std::vector<std::byte> second = w.finish();
    tasklets::write_image_file(file, second);
    CHECK(tasklets::read_image_file(file) == second);
    CHECK(image_reader(tasklets::read_image_file(file)).tags() == std::vector<std::uint32_t>{section_tag("NEXT")});
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir.path)) names.push_back(e.path().filename().string());
    CHECK(names == std::vector<std::string>{"world.img"});
}

TEST_CASE("image: a file that cannot be written or read is a system_error naming it and the step", "[image]") {
    scratch_dir dir;
    const auto nowhere = dir.path / "missing" / "world.img";
    try {
        tasklets::write_image_file(nowhere, sample_image());
        FAIL("wrote into a directory that does not exist");
    } catch (const std::system_error& e) {
        const std::string expected = "tasklets: write_image_file(\"" + nowhere.string() + "\"): cannot create \"" +
                                     nowhere.string() + ".tmp\": ";
        CHECK(std::string(e.what()).rfind(expected, 0) == 0);
    }
    try {
        (void)tasklets::read_image_file(nowhere);
        FAIL("read a file that does not exist");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).rfind("tasklets: read_image_file(\"" + nowhere.string() + "\"): cannot open it: ", 0) ==
              0);
    }
    CHECK(std::filesystem::is_empty(dir.path));
}
