// net_client — TCP clients written as plain blocking code: connect, send a line, wait for
// the answer (with a timeout), repeat. Each client is a tasklet; while one waits for the
// network the others run, all on one thread. The program is self-contained: it starts its
// own line-echo server on 127.0.0.1 (a free port picked by the kernel) and exits by itself.
//
//     net_client [clients [messages]]     defaults: 10 clients, 5 messages each; --help
//
// After the regular clients, two more show what failures look like and how to handle them:
// one asks the server for an answer that comes too late (tasklets::timeout_error), one
// connects to a port where nobody listens (std::system_error, "Connection refused").
#include "cli.hpp"

#include <tasklets/tasklets.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
using tasklets::net::address;
using tasklets::net::listener;
using tasklets::net::stream;

namespace {

// The server's side of one connection: for every line received, answer "echo <line>". A line
// starting with "slow" is answered after 100 ms, to let a client see its timeout expire.
void serve(stream c, address peer) {
    std::string pending;
    char buf[1024];
    try {
        while (std::size_t n = c.read_some(buf, sizeof buf, 5s)) {  // 0: the client is done
            pending.append(buf, n);
            for (std::size_t eol; (eol = pending.find('\n')) != std::string::npos; pending.erase(0, eol + 1)) {
                const std::string line = pending.substr(0, eol);
                if (line.starts_with("slow")) tasklets::sleep_for(100ms);
                c.write_all("echo " + line + "\n", 1s);
            }
        }
    } catch (const std::exception& e) {  // timeout_error, system_error (e.g. the client hung up)
        std::printf("server: connection from %s ended: %s\n", peer.to_string().c_str(), e.what());
    }
}

// Accepts connections until the listener is closed, one tasklet per connection.
void accept_loop(listener& server) {
    for (;;) {
        try {
            address peer;
            stream c = server.accept(peer);
            tasklets::spawn(serve, std::move(c), peer);
        } catch (const std::system_error& e) {
            if (!server.is_open()) return;  // main closed it: we are done
            std::printf("server: %s\n", e.what());  // e.g. out of descriptors; accept() backs off
        }
    }
}

// One client: connects, sends each line and reads its answer within `timeout`, then reports
// on `done` whether everything went through. Every blocking call here blocks only this tasklet.
void client(std::string name, address server, std::vector<std::string> lines, std::chrono::milliseconds timeout,
            tasklets::channel<bool> done) {
    using micro = std::chrono::duration<double, std::micro>;
    std::size_t answered = 0;
    micro slowest{0}, sum{0};
    bool ok = false;
    try {
        stream c = stream::connect(server, 1s);
        for (const std::string& line : lines) {
            const auto start = std::chrono::steady_clock::now();
            c.write_all(line + "\n", timeout);
            // We know how long the answer is, so read exactly that much (or time out).
            std::string answer(line.size() + 6, '\0');  // "echo " + line + "\n"
            c.read_exact(answer.data(), answer.size(), timeout);
            const micro took = std::chrono::steady_clock::now() - start;
            if (answer != "echo " + line + "\n") throw std::runtime_error("unexpected answer \"" + answer + "\"");
            ++answered;
            sum += took;
            if (took > slowest) slowest = took;
        }
        c.shutdown();  // no more lines: the server's read returns 0 and its tasklet ends
        ok = true;
        std::printf("%s: %zu round trips, %.0f us on average, slowest %.0f us\n", name.c_str(), answered,
                    sum.count() / answered, slowest.count());
    } catch (const tasklets::timeout_error& e) {
        std::printf("%s: gave up after %zu of %zu answers: %s\n", name.c_str(), answered, lines.size(), e.what());
    } catch (const std::system_error& e) {  // connection refused or reset, ...; e.code() has the errno
        std::printf("%s: network error after %zu of %zu answers: %s\n", name.c_str(), answered, lines.size(), e.what());
    } catch (const std::exception& e) {  // end_of_stream_error (the server hung up), a wrong answer
        std::printf("%s: failed after %zu of %zu answers: %s\n", name.c_str(), answered, lines.size(), e.what());
    }
    done.send(ok);
}

constexpr const char* usage = "Usage: net_client [clients [messages]]";
constexpr const char* help =
    "Blocking-style TCP clients, one tasklet each, on one thread: each connects, sends lines and\n"
    "reads every answer with a timeout, then prints its round-trip times. The program starts its\n"
    "own echo server on 127.0.0.1 (a free port) and exits by itself. Two extra clients show the\n"
    "errors to expect: an answer that comes too late (tasklets::timeout_error) and a port where\n"
    "nobody listens (std::system_error, connection refused).\n"
    "\n"
    "Arguments:\n"
    "  clients    clients connecting at the same time, 1 to 400 (default 10)\n"
    "  messages   lines each client sends, 1 to 10000 (default 5)\n"
    "  -h, --help show this help\n";

}  // namespace

int main(int argc, char** argv) {
    const cli::command_line args = cli::parse(argc, argv, usage, help, 2);
    const int clients = args.integer(0, "clients", 10, 1, 400);  // two descriptors each: under 1024
    const int messages = args.integer(1, "messages", 5, 1, 10000);

    // 1. The server, on a port the kernel picks (port 0), loopback only.
    listener server;
    address nobody_listens;
    try {
        server = listener::bind(address::loopback_v4(0));
        // For the refused demo: a port that was free a moment ago and has no listener now.
        nobody_listens = listener::bind(address::loopback_v4(0)).local_address();
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "net_client: cannot listen on 127.0.0.1: %s\n", e.what());
        return 1;
    }
    const address where = server.local_address();
    std::printf("server: listening on %s\n", where.to_string().c_str());
    tasklets::spawn(accept_loop, std::ref(server));

    // 2. The clients, all at once, and the two that show failures.
    tasklets::channel<bool> done;
    for (int k = 0; k < clients; ++k) {
        std::vector<std::string> lines;
        for (int m = 0; m < messages; ++m) lines.push_back("hello " + std::to_string(m) + " from client " + std::to_string(k));
        tasklets::spawn(client, "client " + std::to_string(k), where, lines, 500ms, done);
    }
    tasklets::channel<bool> demos_done;
    tasklets::spawn(client, "impatient client", where, std::vector<std::string>{"slow answer, please"}, 50ms, demos_done);
    tasklets::spawn(client, "client of " + nobody_listens.to_string(), nobody_listens,
                    std::vector<std::string>{"anyone there?"}, 500ms, demos_done);

    // 3. Main waits for every client's report (the tasklets run meanwhile), then closes the
    //    listener: the accept loop ends, and run() waits for the last connections to finish.
    int succeeded = 0;
    for (int k = 0; k < clients; ++k) succeeded += done.receive();
    int demos_succeeded = demos_done.receive();
    demos_succeeded += demos_done.receive();
    server.close();
    tasklets::run();
    std::printf("all %d clients done: %d got every answer; the two failure demos %s\n", clients, succeeded,
                demos_succeeded == 0 ? "failed as they should" : "DID NOT FAIL");
    return succeeded == clients ? 0 : 1;
}
