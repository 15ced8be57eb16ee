// The byte-level primitives of tasklets/serial.hpp: little-endian fixed widths, LEB128
// varints, and the reader's checks.
#include <tasklets/serial.hpp>

#include <cstring>

namespace tasklets {

namespace {
// At most 10 bytes carry a 64-bit varint (7 bits each); the 10th may hold only bit 63.
constexpr int max_varint_bytes = 10;
}  // namespace

void serial_writer::raw(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::byte*>(data);
    out_.insert(out_.end(), p, p + size);
}

void serial_writer::unsigned_varint(std::uint64_t v) {
    while (v >= 0x80) {
        byte(static_cast<std::uint8_t>(v | 0x80));
        v >>= 7;
    }
    byte(static_cast<std::uint8_t>(v));
}

void serial_writer::signed_varint(std::int64_t v) {
    // Zigzag: 0, -1, 1, -2… become 0, 1, 2, 3…, so that small negative numbers stay short.
    const auto u = static_cast<std::uint64_t>(v);
    unsigned_varint((u << 1) ^ (v < 0 ? ~std::uint64_t{0} : 0));
}

void serial_writer::fixed32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
}

void serial_writer::fixed64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
}

void serial_reader::fail(const std::string& problem) const {
    throw image_error("tasklets: " + what_ + ", byte " + std::to_string(pos_) + " of " + std::to_string(data_.size()) +
                      ": " + problem);
}

std::uint8_t serial_reader::byte(const char* reading) {
    if (pos_ == data_.size()) fail(std::string("truncated: ") + reading + " needs 1 more byte");
    return static_cast<std::uint8_t>(data_[pos_++]);
}

void serial_reader::raw(void* data, std::size_t size, const char* reading) {
    if (size > remaining())
        fail(std::string("truncated: ") + reading + " of " + std::to_string(size) + " bytes needs " +
             std::to_string(size - remaining()) + " more bytes than are left");
    if (size != 0) std::memcpy(data, data_.data() + pos_, size);
    pos_ += size;
}

std::uint64_t serial_reader::unsigned_varint(const char* reading) { return varint(reading, ""); }

std::uint64_t serial_reader::varint(const char* reading, const char* suffix) {
    const std::size_t start = pos_;
    std::uint64_t v = 0;
    for (int i = 0; i < max_varint_bytes; ++i) {
        if (pos_ == data_.size()) fail(std::string("truncated: ") + reading + suffix + " ends before its last byte");
        const auto b = static_cast<std::uint8_t>(data_[pos_++]);
        if (i == max_varint_bytes - 1 && b > 1) {
            pos_ = start;
            fail(std::string(reading) + suffix + " is wider than 64 bits");
        }
        v |= static_cast<std::uint64_t>(b & 0x7F) << (7 * i);
        if ((b & 0x80) == 0) return v;
    }
    pos_ = start;
    fail(std::string(reading) + suffix + " is longer than 10 bytes");
}

std::int64_t serial_reader::signed_varint(const char* reading) {
    const std::uint64_t u = unsigned_varint(reading);
    return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

std::uint32_t serial_reader::fixed32(const char* reading) {
    unsigned char b[4];
    raw(b, 4, reading);
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(b[i]) << (8 * i);
    return v;
}

std::uint64_t serial_reader::fixed64(const char* reading) {
    unsigned char b[8];
    raw(b, 8, reading);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(b[i]) << (8 * i);
    return v;
}

std::size_t serial_reader::count(const char* reading, std::size_t min_element_bytes) {
    const std::size_t start = pos_;
    const std::uint64_t n = varint(reading, "'s count");
    if (min_element_bytes == 0 && n > max_empty_elements) {
        pos_ = start;
        fail(std::string("corrupted: ") + reading + " of " + std::to_string(n) + " empty elements is more than the " +
             std::to_string(max_empty_elements) + " allowed");
    }
    if (min_element_bytes != 0 && n > remaining() / min_element_bytes) {
        const std::size_t left = remaining();
        pos_ = start;
        fail(std::string("truncated or corrupted: ") + reading + " of " + std::to_string(n) +
             " elements cannot fit in the " + std::to_string(left) + " bytes left");
    }
    return static_cast<std::size_t>(n);
}

void serial_reader::expect_end() const {
    if (pos_ != data_.size())
        fail(std::to_string(data_.size() - pos_) + " bytes are left after the last value: they were written as "
                                                   "something else than what is being read");
}

namespace detail {

void throw_does_not_fit(serial_reader& r, const char* kind, std::int64_t v, int bits) {
    r.fail(std::string("the ") + kind + " integer " + std::to_string(v) + " does not fit in " + std::to_string(bits) +
           " bits");
}

void throw_does_not_fit(serial_reader& r, const char* kind, std::uint64_t v, int bits) {
    r.fail(std::string("the ") + kind + " integer " + std::to_string(v) + " does not fit in " + std::to_string(bits) +
           " bits");
}

}  // namespace detail

}  // namespace tasklets
