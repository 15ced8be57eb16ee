// Bytes as hex text and back, for tests that pin an encoding's exact bytes
// (test_serial.cpp, test_image.cpp, cereal/test_serial_cereal.cpp).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace tasklets_test {

/// The bytes as lowercase hex, two digits each, no separators.
inline std::string hex(std::span<const std::byte> bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (std::byte b : bytes) {
        s += digits[static_cast<unsigned>(b) >> 4];
        s += digits[static_cast<unsigned>(b) & 15];
    }
    return s;
}

/// The bytes that hex() would print as `s`.
inline std::vector<std::byte> unhex(const std::string& s) {
    std::vector<std::byte> out;
    for (std::size_t i = 0; i + 1 < s.size(); i += 2)
        out.push_back(static_cast<std::byte>(std::stoi(s.substr(i, 2), nullptr, 16)));
    return out;
}

}  // namespace tasklets_test
