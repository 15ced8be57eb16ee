// tasklets/image.hpp — a durable image: named sections of bytes in one container with a
// format version, a fixed byte order and checksums, so that an image written by one
// process, build or architecture is either read back exactly or refused with a message
// that says why (docs/durable.md).
//
// Layout (all integers little-endian):
//
//   offset  size  field
//   0       8     "TASKLETS"
//   8       4     format version (image_format_version)
//   12      4     number of sections
//   16      8     bytes of sections that follow the header
//   24      4     CRC-32C of those bytes
//   28      4     CRC-32C of bytes 0-27 (the header itself)
//   32            each section: tag (4), size (8), then `size` bytes
//
// A section's bytes are usually serial_writer output (tasklets/serial.hpp); the container
// does not look inside them.
#pragma once

#include <tasklets/errors.hpp>
#include <tasklets/serial.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace tasklets {

/// The format version this build writes and the only one it reads.
inline constexpr std::uint32_t image_format_version = 1;

/// A section's tag from four characters: section_tag("WRLD"). Stored little-endian, so the
/// characters appear in the image in the order written.
constexpr std::uint32_t section_tag(const char (&name)[5]) noexcept {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(name[0])) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(name[1])) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(name[2])) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(name[3])) << 24;
}

/// A tag as messages show it: its four characters if they are printable ASCII, else
/// 0x and eight hex digits.
std::string section_name(std::uint32_t tag);

/// CRC-32C (Castagnoli, the checksum of iSCSI, ext4 and SCTP) of `bytes`, continuing from
/// `crc` (0 to start). crc32c of "123456789" is 0xE3069283.
std::uint32_t crc32c(std::span<const std::byte> bytes, std::uint32_t crc = 0) noexcept;

/// Builds an image from sections, in the order added.
class image_writer {
public:
    /// Adds a section. Throws std::invalid_argument if the image has one with that tag.
    void add(std::uint32_t tag, std::vector<std::byte> bytes);
    /// Adds what `w` has written as a section, leaving `w` empty.
    void add(std::uint32_t tag, serial_writer& w) { add(tag, w.take()); }

    /// The whole image: header and sections.
    std::vector<std::byte> finish() const;

private:
    std::vector<std::pair<std::uint32_t, std::vector<std::byte>>> sections_;
};

/// Reads an image after checking all of it. Refers to the caller's bytes, which must
/// outlive it and the section readers it hands out.
class image_reader {
public:
    /// Checks, in this order, and throws image_error naming the first problem: the bytes
    /// begin with "TASKLETS" and hold a whole header; the header's checksum; the format
    /// version; the size its header gives; the sections' checksum; each section's bounds,
    /// and that no tag is used twice. Nothing is read before all of that holds.
    explicit image_reader(std::span<const std::byte> image);

    std::uint32_t version() const noexcept { return version_; }
    /// The sections' tags, in the order they were added.
    std::vector<std::uint32_t> tags() const;
    bool contains(std::uint32_t tag) const noexcept;
    /// A section's bytes. Throws image_error if the image has no such section.
    std::span<const std::byte> section(std::uint32_t tag) const;
    /// A serial_reader over a section, whose errors name the section.
    serial_reader open(std::uint32_t tag) const;

private:
    std::uint32_t version_ = 0;
    std::vector<std::pair<std::uint32_t, std::span<const std::byte>>> sections_;
};

/// Writes `image` to the file `path` so that a crash or a power cut leaves either the old
/// file or the new one, never a mix: the bytes go to "<path>.tmp", are flushed to the disk
/// (fsync; FlushFileBuffers on Windows), and the temporary file is then renamed over
/// `path` (on POSIX the directory is flushed too, so that the rename survives). Throws
/// std::system_error naming the file and the step that failed; the temporary file is
/// removed then.
void write_image_file(const std::filesystem::path& path, std::span<const std::byte> image);

/// The bytes of the file `path`, to check with image_reader. Throws std::system_error
/// naming the file if it cannot be read.
std::vector<std::byte> read_image_file(const std::filesystem::path& path);

}  // namespace tasklets
