// actors — a small bank built as an actor system. Each account is a tasklet (an "actor")
// that alone owns its balance; the only way to reach it is to send a message to its
// mailbox, a channel. Clients deposit, withdraw, transfer and ask for balances by message;
// nothing is shared and nothing is locked. At the end a supervisor asks every account for
// its balance, checks that no money appeared or vanished, and closes the mailboxes, which
// ends every actor's loop.
//
//     actors [accounts [operations]]      defaults: 5 accounts, 1000 operations; --help
//
// Things worth noticing:
// - A request that needs an answer carries its own reply channel (withdraw, transfer, query).
// - An actor never waits on another actor: two accounts transferring to each other at the
//   same moment would each wait for the other forever. It hands the money to a short-lived
//   courier tasklet instead, and carries on with its mailbox.
// - The supervisor waits for each balance with a timeout (receive_for): an account that
//   never answers is reported instead of hanging the program.
// - The clients draw their operations from a fixed seed: every run prints the same thing.
#include "cli.hpp"

#include <tasklets/tasklets.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <type_traits>
#include <variant>
#include <vector>

using namespace std::chrono_literals;

namespace {

// The messages an account understands.
struct deposit { long amount; };                                   // no answer needed
struct withdraw { long amount; tasklets::channel<bool> reply; };   // answers false: not enough money
struct transfer { long amount; int to; tasklets::channel<bool> reply; };
struct query { tasklets::channel<long> reply; };                   // answers the balance
using message = std::variant<deposit, withdraw, transfer, query>;
using mailbox = tasklets::channel<message>;

constexpr long opening_balance = 1000;

// An account actor: takes messages one at a time until its mailbox is closed. `bank` is its
// own copy of the address book (channel handles are cheap references to the same channels).
void account(int id, mailbox inbox, std::vector<mailbox> bank) {
    long balance = opening_balance;
    long handled = 0;
    for (message& m : inbox) {  // ends when the mailbox is closed and nobody is sending
        ++handled;
        if (auto* d = std::get_if<deposit>(&m)) {
            balance += d->amount;
        } else if (auto* w = std::get_if<withdraw>(&m)) {
            const bool ok = w->amount <= balance;
            if (ok) balance -= w->amount;
            w->reply.send(ok);
        } else if (auto* t = std::get_if<transfer>(&m)) {
            if (t->amount > balance) {
                t->reply.send(false);
                continue;
            }
            balance -= t->amount;
            // The courier delivers the deposit, then tells the client: when the client hears
            // "done", the money has arrived.
            tasklets::spawn([to = bank[t->to], amount = t->amount, reply = t->reply]() mutable {
                to.send(deposit{amount});
                reply.send(true);
            });
        } else if (auto* q = std::get_if<query>(&m)) {
            q->reply.send(balance);
        }
    }
    std::printf("account %d: mailbox closed after %ld messages; final balance %ld\n", id, handled, balance);
}

// What a client tells the supervisor when it is done.
struct client_report {
    long deposited = 0, withdrawn = 0;
};

// A client: `operations` random requests to random accounts, then a report.
void client(int id, long operations, std::vector<mailbox> bank, tasklets::channel<client_report> done) {
    std::mt19937 random(42 + id);  // fixed seed: the same operations on every run
    auto pick = [&](long n) { return static_cast<long>(random() % static_cast<unsigned long>(n)); };
    tasklets::channel<bool> answer;          // this client's reply channels, reused for
    tasklets::channel<long> balance_answer;  // every request it makes
    client_report report;
    long refused = 0, transfers = 0, queries = 0;
    for (long i = 0; i < operations; ++i) {
        const int from = static_cast<int>(pick(static_cast<long>(bank.size())));
        const long amount = 1 + pick(500);
        switch (pick(4)) {
        case 0:
            bank[from].send(deposit{amount});
            report.deposited += amount;
            break;
        case 1:
            bank[from].send(withdraw{amount, answer});
            if (answer.receive()) report.withdrawn += amount; else ++refused;
            break;
        case 2: {
            const int to = static_cast<int>((from + 1 + pick(static_cast<long>(bank.size()) - 1)) % static_cast<long>(bank.size()));
            bank[from].send(transfer{amount, to, answer});
            if (answer.receive()) ++transfers; else ++refused;
            break;
        }
        default:
            bank[from].send(query{balance_answer});
            balance_answer.receive();
            ++queries;
        }
    }
    std::printf("client %d: %ld operations: deposited %ld, withdrew %ld, %ld transfers, %ld balance queries, "
                "%ld refused for lack of money\n", id, operations, report.deposited, report.withdrawn, transfers,
                queries, refused);
    done.send(report);
}

constexpr const char* usage = "Usage: actors [accounts [operations]]";
constexpr const char* help =
    "An actor system: a bank whose accounts are tasklets, each owning its balance and reachable\n"
    "only through its mailbox channel (deposit, withdraw, transfer, query messages, with reply\n"
    "channels for the answers). Four clients issue random operations from a fixed seed; then a\n"
    "supervisor asks every account for its balance with a timeout, checks that the total is\n"
    "conserved, and closes the mailboxes so that every actor finishes. No locks, no shared state.\n"
    "\n"
    "Arguments:\n"
    "  accounts    account actors, 2 to 100 (default 5)\n"
    "  operations  random operations, shared among the 4 clients, 1 to 1000000 (default 1000)\n"
    "  -h, --help  show this help\n";

}  // namespace

int main(int argc, char** argv) {
    const cli::command_line args = cli::parse(argc, argv, usage, help, 2);
    const int accounts = args.integer(0, "accounts", 5, 2, 100);
    const long operations = args.integer(1, "operations", 1000L, 1L, 1000000L);
    constexpr int clients = 4;
    static_assert(std::is_nothrow_move_constructible_v<message>);

    // 1. Open the accounts: one mailbox and one actor each.
    std::vector<mailbox> bank(accounts);
    std::vector<tasklets::tasklet> actors;
    for (int id = 0; id < accounts; ++id) actors.push_back(tasklets::spawn(account, id, bank[id], bank));
    std::printf("bank: %d accounts of %ld each (total %ld); %d clients share %ld operations\n", accounts,
                opening_balance, accounts * opening_balance, clients, operations);

    // 2. The clients work; main (the supervisor) waits for their reports.
    tasklets::channel<client_report> done;
    for (int id = 0; id < clients; ++id)
        tasklets::spawn(client, id, operations / clients + (id < operations % clients ? 1 : 0), bank, done);
    long deposited = 0, withdrawn = 0;
    for (int i = 0; i < clients; ++i) {
        const client_report r = done.receive();
        deposited += r.deposited;
        withdrawn += r.withdrawn;
    }

    // 3. The audit. The query is each account's last message: its mailbox is closed as soon as
    //    the actor has taken it, so after answering, the actor's loop ends. An account that
    //    does not answer within a second is reported rather than waited for forever.
    long total = 0;
    bool all_answered = true;
    for (int id = 0; id < accounts; ++id) {
        tasklets::channel<long> reply;
        bank[id].send(query{reply});
        bank[id].close();
        try {
            total += reply.receive_for(1s);
        } catch (const tasklets::timeout_error& e) {
            std::printf("audit: account %d did not answer: %s\n", id, e.what());
            all_answered = false;
        }
    }

    // 4. Let the actors finish their loops (each prints its last line), then the verdict.
    tasklets::run();
    const long expected = accounts * opening_balance + deposited - withdrawn;
    const bool conserved = all_answered && total == expected;
    std::printf("audit: %ld opening + %ld deposited - %ld withdrawn = %ld; the accounts hold %ld: %s\n",
                accounts * opening_balance, deposited, withdrawn, expected, total,
                conserved ? "total conserved" : "MONEY APPEARED OR VANISHED");
    int still_running = 0;
    for (const tasklets::tasklet& a : actors) still_running += a.alive();
    std::printf("%d of %d account actors finished; %d tasklet running (main)\n", accounts - still_running, accounts,
                tasklets::runcount());
    return conserved && still_running == 0 ? 0 : 1;
}
