// Durable images to and from files (tasklets/image.hpp): replace a file whole or not at
// all, the way a save game must be written.
#include <tasklets/image.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>
#include <utility>

#if defined(_WIN32)
#include <windows.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

namespace tasklets {

namespace {

std::string quoted(const std::filesystem::path& p) {
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) about "\"" + s + "\"".
    std::string s(1, '"');
    s += p.string();
    s += '"';
    return s;
}

#if defined(_WIN32)

[[noreturn]] void fail(const char* function, const std::filesystem::path& path, const std::string& step) {
    throw std::system_error(static_cast<int>(GetLastError()), std::system_category(),
                            std::string("tasklets: ") + function + "(" + quoted(path) + "): " + step);
}

struct handle {
    HANDLE h;
    ~handle() {
        if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
    }
};

#else

[[noreturn]] void fail(const char* function, const std::filesystem::path& path, const std::string& step) {
    throw std::system_error(errno, std::generic_category(),
                            std::string("tasklets: ") + function + "(" + quoted(path) + "): " + step);
}

struct descriptor {
    int fd;
    ~descriptor() {
        if (fd >= 0) ::close(fd);
    }
};

#endif

}  // namespace

void write_image_file(const std::filesystem::path& path, std::span<const std::byte> image) {
    const char* const fn = "write_image_file";
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    struct remove_on_failure {
        const std::filesystem::path& p;
        bool done = false;
        ~remove_on_failure() {
            std::error_code ignored;
            if (!done) std::filesystem::remove(p, ignored);
        }
    } cleanup{tmp};
#if defined(_WIN32)
    {
        handle f{CreateFileW(tmp.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr)};
        if (f.h == INVALID_HANDLE_VALUE) {
            cleanup.done = true;  // nothing was created
            fail(fn, path, "cannot create " + quoted(tmp));
        }
        std::size_t at = 0;
        while (at < image.size()) {
            const DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(image.size() - at, 1u << 30));
            DWORD wrote = 0;
            if (!WriteFile(f.h, image.data() + at, chunk, &wrote, nullptr)) fail(fn, path, "cannot write " + quoted(tmp));
            at += wrote;
        }
        if (!FlushFileBuffers(f.h)) fail(fn, path, "cannot flush " + quoted(tmp) + " to the disk");
    }
    if (!MoveFileExW(tmp.c_str(), path.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        fail(fn, path, "cannot rename " + quoted(tmp) + " over it");
#else
    {
        descriptor f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)};
        if (f.fd < 0) {
            cleanup.done = true;  // nothing was created
            fail(fn, path, "cannot create " + quoted(tmp));
        }
        std::size_t at = 0;
        while (at < image.size()) {
            const ssize_t n = ::write(f.fd, image.data() + at, image.size() - at);
            if (n < 0) {
                if (errno == EINTR) continue;
                fail(fn, path, "cannot write " + quoted(tmp));
            }
            at += static_cast<std::size_t>(n);
        }
        if (::fsync(f.fd) != 0) fail(fn, path, "cannot flush " + quoted(tmp) + " to the disk");
        const int fd = std::exchange(f.fd, -1);
        if (::close(fd) != 0) fail(fn, path, "cannot close " + quoted(tmp));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(fn, path, "cannot rename " + quoted(tmp) + " over it");
    cleanup.done = true;
    // The rename is an entry in the directory: flushed too, or a power cut may undo it.
    // Best effort: some file systems refuse to fsync a directory, and the file is in place.
    std::filesystem::path dir = path.parent_path();
    if (dir.empty()) dir = ".";
    descriptor d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd >= 0) (void)::fsync(d.fd);
#endif
    cleanup.done = true;
}

std::vector<std::byte> read_image_file(const std::filesystem::path& path) {
    const char* const fn = "read_image_file";
    std::vector<std::byte> bytes;
#if defined(_WIN32)
    handle f{CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr)};
    if (f.h == INVALID_HANDLE_VALUE) fail(fn, path, "cannot open it");
    std::byte buffer[65536];
    for (;;) {
        DWORD got = 0;
        if (!ReadFile(f.h, buffer, sizeof buffer, &got, nullptr)) fail(fn, path, "cannot read it");
        if (got == 0) break;
        bytes.insert(bytes.end(), buffer, buffer + got);
    }
#else
    descriptor f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) fail(fn, path, "cannot open it");
    std::byte buffer[65536];
    for (;;) {
        const ssize_t n = ::read(f.fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(fn, path, "cannot read it");
        }
        if (n == 0) break;
        bytes.insert(bytes.end(), buffer, buffer + n);
    }
#endif
    return bytes;
}

}  // namespace tasklets
