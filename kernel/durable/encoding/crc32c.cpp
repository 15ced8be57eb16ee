// CRC-32C (tasklets/image.hpp). Written here rather than taken from a library: the core
// library depends on nothing but the C++ standard library and the OS, and zlib (the
// Debian-packaged candidate) has CRC-32, whose polynomial detects fewer error patterns
// in long messages than Castagnoli's. A table of 256 words, a byte per step: images of
// megabytes check in milliseconds, which is all a save or restore needs.
#include <tasklets/image.hpp>

#include <array>

namespace tasklets {

namespace {

constexpr std::uint32_t castagnoli_reflected = 0x82F63B78u;

constexpr std::array<std::uint32_t, 256> make_table() noexcept {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ castagnoli_reflected : c >> 1;
        t[i] = c;
    }
    return t;
}

constexpr std::array<std::uint32_t, 256> table = make_table();

}  // namespace

std::uint32_t crc32c(std::span<const std::byte> bytes, std::uint32_t crc) noexcept {
    crc = ~crc;
    for (std::byte b : bytes) crc = table[(crc ^ static_cast<std::uint8_t>(b)) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

}  // namespace tasklets
