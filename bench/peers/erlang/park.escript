#!/usr/bin/env escript
%%! +S 1:1 +SDcpu 1:1 +SDio 1 +P 4000000 -noinput
%% Erlang processes as a peer in bench/run.sh's memory rows: N processes, each blocked in
%% `receive` on its own mailbox (Erlang's channel), measured as tasklets_bench --park
%% measures: VmRSS and VmSize of the whole emulator before and after, one line of the
%% same JSON on stdout, a progress line per chunk of 10,000 on stderr.
%%
%%   escript bench/peers/erlang/park.escript N
%%
%% One scheduler (+S 1:1, like GOMAXPROCS=1 for Go and one thread for tasklets); +P raises
%% the process limit from its default of 262,144 so that a million fit.
-mode(compile).

main([NStr]) ->
    case catch list_to_integer(NStr) of
        N when is_integer(N), N > 0 -> park(N);
        _ -> usage()
    end;
main(_) ->
    usage().

usage() ->
    io:format(standard_error, "usage: escript park.escript N (N a positive integer)~n", []),
    halt(2).

park(N) ->
    Rss0 = status_bytes("VmRSS"),
    Vm0 = status_bytes("VmSize"),
    T0 = erlang:monotonic_time(nanosecond),
    spawn_chunks(0, N),
    Seconds = (erlang:monotonic_time(nanosecond) - T0) / 1.0e9,
    Rss1 = status_bytes("VmRSS"),
    Vm1 = status_bytes("VmSize"),
    Per = 1 / N,
    io:format("{\"name\": \"erlang\", \"requested\": ~b, \"parked\": ~b, \"ok\": true, "
              "\"seconds\": ~.6f, \"ns_per_park\": ~.1f, \"rss_bytes_per\": ~.1f, "
              "\"vm_bytes_per\": ~.1f, \"rss_delta_bytes\": ~b, \"vm_delta_bytes\": ~b, "
              "\"vmas\": ~b, \"note\": \"process blocked in receive on its own mailbox, "
              "one scheduler, Erlang/OTP ~s, ERTS ~s\"}~n",
              [N, N, Seconds, Seconds * 1.0e9 * Per, (Rss1 - Rss0) * Per, (Vm1 - Vm0) * Per,
               Rss1 - Rss0, Vm1 - Vm0, count_vmas(), erlang:system_info(otp_release),
               erlang:system_info(version)]),
    halt(0).  % the processes stay parked until the emulator halts

%% Spawns N processes in chunks of 10,000; after each chunk, yields until the run queue
%% is empty, i.e. every new process has reached its receive.
%% No list of their pids is kept: a process lives until it exits, and the list would add
%% its cells to every process's figure.
spawn_chunks(Done, N) when Done >= N ->
    ok;
spawn_chunks(Done, N) ->
    End = min(N, Done + 10000),
    spawn_n(End - Done),
    drain(),
    io:format(standard_error, "parked ~b~n", [End]),
    spawn_chunks(End, N).

spawn_n(0) -> ok;
spawn_n(K) -> spawn(fun() -> receive stop -> ok end end), spawn_n(K - 1).

drain() ->
    case erlang:statistics(total_run_queue_lengths) of
        0 -> ok;
        _ -> erlang:yield(), drain()
    end.

status_bytes(Field) ->
    {ok, Bin} = file:read_file("/proc/self/status"),
    Prefix = Field ++ ":",
    [Line] = [L || L <- string:split(binary_to_list(Bin), "\n", all), lists:prefix(Prefix, L)],
    [Kb, "kB"] = string:lexemes(string:prefix(Line, Prefix), " \t"),
    list_to_integer(Kb) * 1024.

count_vmas() ->
    {ok, Bin} = file:read_file("/proc/self/maps"),
    length(binary:matches(Bin, <<"\n">>)).
