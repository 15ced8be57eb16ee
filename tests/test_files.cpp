// Files on helper threads (tasklets/file.hpp): contents exactly as written, offsets and the
// end of the file, the errors' messages, an atomic save, many tasklets at once, and a
// kill in the middle of a call. Each test runs on a fresh thread in a directory of its own.
#include <tasklets/tasklets.hpp>

#include <catch2/catch.hpp>

#include "support/in_thread.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace fs = tasklets::fs;

namespace {

// A fresh directory under /tmp, removed with everything in it afterwards.
struct scratch_dir {
    std::string path;
    explicit scratch_dir(const char* name)
        : path("/tmp/tasklets-files-" + std::to_string(::getpid()) + "-" + name) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~scratch_dir() { std::filesystem::remove_all(path); }
    std::string operator/(const std::string& file) const { return path + "/" + file; }
};

}  // namespace

TEST_CASE("files: write_at and read_at at offsets, short reads only at the end, size and sync", "[files]") {
    tasklets_test::in_thread([] {
        scratch_dir dir("rw");
        fs::file f = fs::file::open(dir / "data", O_RDWR | O_CREAT | O_TRUNC, 0644);
        CHECK(f.path() == dir / "data");
        f.write_at("hello, world", 12, 0);
        f.write_at("WORLD", 5, 7);
        f.sync();
        CHECK(f.size() == 12);
        char buf[32] = {};
        CHECK(f.read_at(buf, sizeof buf, 0) == 12);
        CHECK(std::string(buf, 12) == "hello, WORLD");
        CHECK(f.read_at(buf, 4, 3) == 4);
        CHECK(std::string(buf, 4) == "lo, ");
        CHECK(f.read_at(buf, sizeof buf, 10) == 2);  // the end of the file
        CHECK(f.read_at(buf, sizeof buf, 12) == 0);
        CHECK(f.read_at(buf, sizeof buf, 1000) == 0);
        f.close();
        CHECK_FALSE(f.is_open());
        CHECK_THROWS_WITH(f.read_at(buf, 1, 0), "tasklets: read_at on a closed file: Bad file descriptor");

        fs::file log = fs::file::open(dir / "log", O_WRONLY | O_CREAT | O_APPEND, 0644);
        log.append("one\n", 4);
        log.append("two\n", 4);
        CHECK(fs::read_file(dir / "log") == "one\ntwo\n");
    });
}

TEST_CASE("files: errors name the call and the path", "[files]") {
    tasklets_test::in_thread([] {
        scratch_dir dir("errors");
        try {
            (void)fs::file::open(dir / "missing");
            FAIL("opened");
        } catch (const std::system_error& e) {
            CHECK(e.code().value() == ENOENT);
            CHECK(std::string(e.what()) == "tasklets: open \"" + dir / "missing" + "\": No such file or directory");
        }
        fs::file d = fs::file::open(dir.path, O_RDONLY | O_DIRECTORY);
        char c;
        try {
            (void)d.read_at(&c, 1, 0);
            FAIL("read a directory");
        } catch (const std::system_error& e) {
            CHECK(e.code().value() == EISDIR);
            CHECK(std::string(e.what()) == "tasklets: read_at 1 bytes at 0 of \"" + dir.path + "\": Is a directory");
        }
        CHECK_THROWS_WITH(fs::stat(dir / "nothing"), "tasklets: stat \"" + dir / "nothing" + "\": No such file or directory");
        CHECK_THROWS_WITH(fs::remove(dir / "nothing"), "tasklets: remove \"" + dir / "nothing" + "\": No such file or directory");
        CHECK_THROWS_WITH(fs::read_file(dir / "nothing"),
                          "tasklets: read_file \"" + dir / "nothing" + "\" (open): No such file or directory");
    });
}

TEST_CASE("files: stat, exists, rename, remove, and an atomic save that replaces the old contents", "[files]") {
    tasklets_test::in_thread([] {
        scratch_dir dir("meta");
        const std::string save = dir / "world.sav";
        CHECK_FALSE(fs::exists(save));
        fs::write_file_atomically(save, "version 1");
        CHECK(fs::read_file(save) == "version 1");
        fs::write_file_atomically(save, "version 2, longer");
        CHECK(fs::read_file(save) == "version 2, longer");
        CHECK_FALSE(fs::exists(save + ".tmp"));
        const fs::status st = fs::stat(save);
        CHECK(st.size == 17);
        CHECK(st.is_regular());
        CHECK_FALSE(st.is_directory());
        CHECK(fs::stat(dir.path).is_directory());
        fs::rename(save, dir / "old.sav");
        CHECK_FALSE(fs::exists(save));
        CHECK(fs::exists(dir / "old.sav"));
        fs::remove(dir / "old.sav");
        CHECK_FALSE(fs::exists(dir / "old.sav"));
        // A large file, read whole.
        const std::string big(300000, 'q');
        fs::write_file_atomically(save, big);
        CHECK(fs::read_file(save) == big);
    });
}

TEST_CASE("files: 100 tasklets read 4 KiB blocks of one file at once, each gets its own block", "[files]") {
    tasklets_test::in_thread([] {
        scratch_dir dir("many");
        std::string contents;
        for (int b = 0; b < 100; ++b) contents += std::string(4096, static_cast<char>('A' + b % 26));
        fs::write_file_atomically(dir / "blocks", contents);
        fs::file f = fs::file::open(dir / "blocks");
        int right = 0;
        for (int b = 0; b < 100; ++b)
            tasklets::spawn([&, b] {
                std::vector<char> buf(4096);
                const std::size_t n = f.read_at(buf.data(), buf.size(), static_cast<std::uint64_t>(b) * 4096);
                right += n == 4096 && std::string(buf.data(), n) == std::string(4096, static_cast<char>('A' + b % 26));
            });
        tasklets::run();
        CHECK(right == 100);
    });
}

TEST_CASE("files: a tasklet killed in the middle of a call unwinds at once, the call is cancelled or ends on its helper, its descriptor closed", "[files]") {
    tasklets_test::in_thread([] {
        scratch_dir dir("kill");
        // Opening a FIFO for reading blocks until a writer comes: a call that is still
        // running on its helper when the tasklet is killed.
        const std::string fifo = dir / "fifo";
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        (void)tasklets::run_blocking([] { return 0; });  // the reactor and its helper inbox exist from here
        const auto before = tasklets_test::open_fd_count();
        bool unwound = false;
        tasklets::tasklet reader([&] {
            struct note {
                bool& flag;
                ~note() { flag = true; }
            } on_unwind{unwound};
            fs::file f = fs::file::open(fifo, O_RDONLY);
            FAIL("the open came back");
        });
        tasklets::schedule();
        CHECK(reader.blocked());
        reader.kill();
        CHECK(unwound);
        CHECK_FALSE(reader.alive());
        // Now a writer comes. On the helper threads the open is never cancelled: it returns
        // a descriptor that nobody takes, which is closed with the dropped result. The
        // helper may not have reached its open() yet (on a loaded machine it had not, and
        // a non-blocking writer found no reader: ENXIO), so the writer retries until it
        // meets the reader. On io_uring the kill cancelled the open, so there may be no
        // reader left: the non-blocking writer then fails with ENXIO instead of waiting
        // for ever.
        const bool on_helpers = tasklets::current_io_backend() == tasklets::io_backend::epoll;
        int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
        for (int i = 0; on_helpers && writer < 0 && errno == ENXIO && i < 2000; ++i) {
            std::this_thread::sleep_for(5ms);
            writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
        }
        if (on_helpers) REQUIRE(writer >= 0);
        if (writer >= 0)
            ::close(writer);
        else
            REQUIRE(errno == ENXIO);
        // On the helpers, the writer released the helper's open, which now installs its
        // descriptor; it stays open until this thread's reactor takes the reply in, and
        // nothing polls before the loop below. Wait for it to appear first: checking only
        // for the count to be back to `before` once failed by being too early (the
        // helper's open had not returned yet; 12 descriptors against 11 a moment later).
        for (int i = 0; on_helpers && i < 2000 && tasklets_test::open_fd_count() == before; ++i)
            std::this_thread::sleep_for(1ms);
        // The dropped reply is released when this thread's reactor takes it in: at its
        // next poll (a sleep polls).
        for (int i = 0; i < 400 && tasklets_test::open_fd_count() != before; ++i) tasklets::sleep_for(5ms);
        CHECK(tasklets_test::open_fd_count() == before);
    });
}
