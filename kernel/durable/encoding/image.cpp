// The durable image container (tasklets/image.hpp): writing, and checking before reading.
#include <tasklets/image.hpp>

#include <cstdio>
#include <stdexcept>

namespace tasklets {

namespace {

constexpr char magic[8] = {'T', 'A', 'S', 'K', 'L', 'E', 'T', 'S'};
constexpr std::size_t header_size = 32;
constexpr std::size_t section_header_size = 12;  // tag (4) + size (8)

std::uint32_t get32(std::span<const std::byte> b, std::size_t at) noexcept {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(b[at + i]) << (8 * i);
    return v;
}

std::uint64_t get64(std::span<const std::byte> b, std::size_t at) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(b[at + i]) << (8 * i);
    return v;
}

std::string hex32(std::uint32_t v) {
    char s[11];
    std::snprintf(s, sizeof s, "0x%08x", v);
    return s;
}

[[noreturn]] void refuse(const std::string& problem) { throw image_error("tasklets: durable image: " + problem); }

}  // namespace

std::string section_name(std::uint32_t tag) {
    std::string name;
    for (int i = 0; i < 4; ++i) {
        const auto c = static_cast<char>(tag >> (8 * i));
        if (c < 0x20 || c > 0x7E) return hex32(tag);
        name += c;
    }
    return name;
}

void image_writer::add(std::uint32_t tag, std::vector<std::byte> bytes) {
    for (const auto& s : sections_)
        if (s.first == tag)
            throw std::invalid_argument("tasklets: image_writer::add: the image has a section " + section_name(tag) +
                                        " already; each tag names one section");
    sections_.emplace_back(tag, std::move(bytes));
}

std::vector<std::byte> image_writer::finish() const {
    serial_writer body;
    for (const auto& [tag, bytes] : sections_) {
        body.fixed32(tag);
        body.fixed64(bytes.size());
        body.raw(bytes.data(), bytes.size());
    }
    serial_writer head;
    head.raw(magic, sizeof magic);
    head.fixed32(image_format_version);
    head.fixed32(static_cast<std::uint32_t>(sections_.size()));
    head.fixed64(body.size());
    head.fixed32(crc32c(body.bytes()));
    head.fixed32(crc32c(head.bytes()));
    std::vector<std::byte> image = head.take();
    image.insert(image.end(), body.bytes().begin(), body.bytes().end());
    return image;
}

image_reader::image_reader(std::span<const std::byte> image) {
    const std::size_t have = image.size();
    for (std::size_t i = 0; i < sizeof magic && i < have; ++i)
        if (image[i] != static_cast<std::byte>(magic[i]))
            throw image_error("tasklets: not a durable image: it does not begin with \"TASKLETS\"");
    if (have < header_size)
        refuse("truncated: " + std::to_string(have) + " bytes, less than its " + std::to_string(header_size) +
               "-byte header");
    const std::uint32_t head_crc = get32(image, 28);
    const std::uint32_t head_actual = crc32c(image.first(28));
    if (head_crc != head_actual)
        refuse("corrupted: the checksum of its header is " + hex32(head_actual) + ", the header says " + hex32(head_crc));
    version_ = get32(image, 8);
    if (version_ != image_format_version)
        refuse("format version " + std::to_string(version_) + "; this build of tasklets reads version " +
               std::to_string(image_format_version));
    const std::uint32_t count = get32(image, 12);
    const std::uint64_t body_size = get64(image, 16);
    const std::size_t present = have - header_size;
    if (body_size > present)
        refuse("truncated: its header promises " + std::to_string(body_size) + " bytes of sections, " +
               std::to_string(present) + " are present");
    if (body_size < present)
        refuse(std::to_string(present - body_size) + " bytes follow its last section: these bytes are not one whole image");
    const std::span<const std::byte> body = image.subspan(header_size);
    const std::uint32_t body_crc = get32(image, 24);
    const std::uint32_t body_actual = crc32c(body);
    if (body_crc != body_actual)
        refuse("corrupted: the checksum of its sections is " + hex32(body_actual) + ", the header says " +
               hex32(body_crc));
    // The checksums match, so what follows holds unless the writer was wrong: still checked,
    // as a reader must never index past its bytes.
    std::size_t at = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        if (body.size() - at < section_header_size)
            refuse("section " + std::to_string(i + 1) + " of " + std::to_string(count) + " is missing");
        const std::uint32_t tag = get32(body, at);
        const std::uint64_t size = get64(body, at + 4);
        at += section_header_size;
        if (size > body.size() - at)
            refuse("section " + section_name(tag) + " claims " + std::to_string(size) + " bytes, " +
                   std::to_string(body.size() - at) + " are left");
        if (contains(tag)) refuse("section " + section_name(tag) + " appears twice");
        sections_.emplace_back(tag, body.subspan(at, static_cast<std::size_t>(size)));
        at += static_cast<std::size_t>(size);
    }
    if (at != body.size()) refuse(std::to_string(body.size() - at) + " bytes follow its " + std::to_string(count) + " sections");
}

std::vector<std::uint32_t> image_reader::tags() const {
    std::vector<std::uint32_t> out;
    out.reserve(sections_.size());
    for (const auto& s : sections_) out.push_back(s.first);
    return out;
}

bool image_reader::contains(std::uint32_t tag) const noexcept {
    for (const auto& s : sections_)
        if (s.first == tag) return true;
    return false;
}

std::span<const std::byte> image_reader::section(std::uint32_t tag) const {
    for (const auto& s : sections_)
        if (s.first == tag) return s.second;
    refuse("it has no section " + section_name(tag));
}

serial_reader image_reader::open(std::uint32_t tag) const {
    return serial_reader(section(tag), "section " + section_name(tag) + " of a durable image");
}

}  // namespace tasklets
