// file_bench — 1,000 tasklets doing 4 KiB random reads of one file, three ways, and how late
// a 1 ms ticker tasklet on the same thread runs meanwhile (issue 17's file benchmark):
//
//   tasklets   each reader calls tasklets::fs::file::read_at, which waits for an io_uring
//              read (the io_uring backend) or for a pread on a helper thread (epoll backend:
//              run with TASKLETS_IO_BACKEND=epoll) while only that tasklet waits
//   pread      each reader calls pread(2) itself: the whole thread waits for each read
//   pool       what a user builds today: the reads as jobs for a hand-written pool of
//              std::threads (as many as the tasklets' helpers), the thread's tasklets free
//
// Each way runs with the file in the page cache ("cached") and with its pages dropped
// (posix_fadvise(POSIX_FADV_DONTNEED)) before the round ("cold"). Prints one line per
// case: reads per second, and the ticker's lateness (p50, p99, max) over the round.
//
//     file_bench [file_mib [reads_per_tasklet [rounds]]]     defaults: 256 MiB, 20, 3
#include <tasklets/tasklets.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

constexpr int readers = 1000;
constexpr std::size_t block = 4096;

struct result {
    double reads_per_s = 0;
    std::vector<double> late_ms;  // the ticker's lateness at each tick
};

// The 1 ms ticker: sleeps 1 ms at a time until *stop, noting how late each wake-up is.
void ticker(const bool* stop, std::vector<double>* late) {
    while (!*stop) {
        const auto due = steady::now() + 1ms;
        tasklets::sleep_for(1ms);
        late->push_back(std::chrono::duration<double, std::milli>(steady::now() - due).count());
    }
}

// The offsets one reader reads: random 4 KiB blocks of the file, the same in every way.
std::vector<std::uint64_t> offsets_for(int reader, int count, std::uint64_t blocks) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(reader) * 7919 + 1);
    std::vector<std::uint64_t> out;
    for (int i = 0; i < count; ++i) out.push_back((rng() % blocks) * block);
    return out;
}

// A minimal hand-written pool: a queue of jobs, N threads.
class thread_pool {
public:
    explicit thread_pool(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i)
            threads_.emplace_back([this] {
                std::unique_lock lock(m_);
                for (;;) {
                    cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
                    if (jobs_.empty()) return;
                    auto job = std::move(jobs_.front());
                    jobs_.pop_front();
                    lock.unlock();
                    job();
                    lock.lock();
                }
            });
    }
    ~thread_pool() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }
    void submit(std::function<void()> f) {
        {
            std::lock_guard lock(m_);
            jobs_.push_back(std::move(f));
        }
        cv_.notify_one();
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    bool stop_ = false;
};

result run_round(const std::string& way, const std::string& path, std::uint64_t blocks, int per_reader) {
    result r;
    bool stop = false;
    tasklets::tasklet tick(ticker, &stop, &r.late_ms);
    tasklets::schedule();  // the ticker starts sleeping
    const auto t0 = steady::now();
    long done = 0;
    if (way == "tasklets") {
        tasklets::fs::file f = tasklets::fs::file::open(path);
        for (int i = 0; i < readers; ++i)
            tasklets::spawn([&, i] {
                char buf[block];
                for (std::uint64_t off : offsets_for(i, per_reader, blocks)) done += f.read_at(buf, block, off) == block;
            });
        while (done < static_cast<long>(readers) * per_reader) tasklets::sleep_for(100us);
    } else if (way == "pread") {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        for (int i = 0; i < readers; ++i)
            tasklets::spawn([&, i] {
                char buf[block];
                for (std::uint64_t off : offsets_for(i, per_reader, blocks)) {
                    done += ::pread(fd, buf, block, static_cast<off_t>(off)) == static_cast<ssize_t>(block);
                    tasklets::schedule();  // a reader yields between reads, as a real one would
                }
            });
        while (done < static_cast<long>(readers) * per_reader) tasklets::sleep_for(100us);
        ::close(fd);
    } else {  // pool
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        std::atomic<long> finished{0};
        {
            thread_pool pool(tasklets::max_helper_threads());
            for (int i = 0; i < readers; ++i)
                pool.submit([&, i] {
                    char buf[block];
                    long ok = 0;
                    for (std::uint64_t off : offsets_for(i, per_reader, blocks))
                        ok += ::pread(fd, buf, block, static_cast<off_t>(off)) == static_cast<ssize_t>(block);
                    finished += ok;
                });
            // The thread's tasklets (the ticker) run while the pool works.
            while (finished.load() < static_cast<long>(readers) * per_reader) tasklets::sleep_for(200us);
        }
        done = finished.load();
        ::close(fd);
    }
    const double s = std::chrono::duration<double>(steady::now() - t0).count();
    stop = true;
    tasklets::run();
    r.reads_per_s = static_cast<double>(done) / s;
    return r;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
    const long mib = argc > 1 ? std::atol(argv[1]) : 256;
    const int per_reader = argc > 2 ? std::atoi(argv[2]) : 20;
    const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
    if (mib < 1 || per_reader < 1 || rounds < 1) {
        std::fprintf(stderr, "usage: file_bench [file_mib [reads_per_tasklet [rounds]]]\n");
        return 2;
    }
    const std::string path = "/tmp/file_bench-" + std::to_string(::getpid()) + ".dat";
    {
        std::string chunk(1 << 20, 'x');
        tasklets::fs::file f = tasklets::fs::file::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        for (long i = 0; i < mib; ++i) f.write_at(chunk.data(), chunk.size(), static_cast<std::uint64_t>(i) << 20);
        f.sync();
    }
    const std::uint64_t blocks = static_cast<std::uint64_t>(mib) * (1 << 20) / block;
    const std::string backend(tasklets::to_string(tasklets::current_io_backend()));
    std::printf("file_bench: %d tasklets x %d random 4 KiB reads of a %ld MiB file, %d rounds; helpers/pool threads: %zu; "
                "I/O backend: %s\n",
                readers, per_reader, mib, rounds, tasklets::max_helper_threads(), backend.c_str());
    std::printf("%-8s %-9s %12s %10s %10s %10s\n", "cache", "way", "reads/s", "tick p50", "tick p99", "tick max");
    for (const char* cache : {"cached", "cold"}) {
        for (const char* way : {"tasklets", "pread", "pool"}) {
            std::vector<double> rates;
            std::vector<double> late;
            for (int round = 0; round < rounds; ++round) {
                const int fd = ::open(path.c_str(), O_RDONLY);
                if (std::string(cache) == "cold") ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
                else {  // warm the whole file into the page cache
                    std::vector<char> buf(1 << 20);
                    for (off_t at = 0; ::pread(fd, buf.data(), buf.size(), at) > 0; at += static_cast<off_t>(buf.size())) {}
                }
                ::close(fd);
                result r = run_round(way, path, blocks, per_reader);
                rates.push_back(r.reads_per_s);
                late.insert(late.end(), r.late_ms.begin(), r.late_ms.end());
            }
            std::sort(rates.begin(), rates.end());
            std::printf("%-8s %-9s %12.0f %8.3fms %8.3fms %8.3fms   (median of %d rounds; %zu ticks)\n", cache, way,
                        rates[rates.size() / 2], percentile(late, 0.5), percentile(late, 0.99),
                        late.empty() ? 0.0 : *std::max_element(late.begin(), late.end()), rounds, late.size());
        }
    }
    ::unlink(path.c_str());
}
