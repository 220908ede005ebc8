#!/usr/bin/env python3
"""Turn bench/compare/run.sh's raw lines into the compact table it prints.

usage: report.py RAW_FILE [HOLD_N]

RUN lines (one per wrk run) become the throughput table: medians over rounds, ratios to nginx and
(for manifests) to min-httplib on the same case and connection count. IDLE and C1K lines become the
many-connections table (otaserver next to nginx).
"""
import statistics
import sys

OTA = ("ota-tok-off", "ota-tok-on", "otaserver", "ota-asset-token")
CASE_ORDER = {"manifest": 0, "asset-50k": 1, "asset-4m": 2}
SERVER_ORDER = {"nginx": 0, "min-httplib": 1, "ota-tok-off": 2, "ota-tok-on": 3, "otaserver": 4, "ota-asset-token": 5}


def parse(line):
    kv = {}
    for tok in line.split()[1:]:
        if "=" in tok:
            k, v = tok.split("=", 1)
            kv[k] = v
    return kv


def num(v, default=float("nan")):
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def med(rows, key):
    xs = [num(r.get(key)) for r in rows]
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def fmt(x, digits=0, thousands=True):
    if x != x:
        return "-"
    if digits == 0:
        return f"{x:,.0f}" if thousands else f"{x:.0f}"
    return f"{x:,.{digits}f}"


def main():
    raw = sys.argv[1]
    hold_n = sys.argv[2] if len(sys.argv) > 2 else "1000"
    runs, c1k, idle = {}, {}, {}
    for line in open(raw):
        if line.startswith("RUN "):
            kv = parse(line)
            runs.setdefault((kv["case"], int(kv["conns"]), kv["server"]), []).append(kv)
        elif line.startswith("C1K "):
            kv = parse(line)
            c1k[kv["server"]] = kv
        elif line.startswith("IDLE "):
            idle = parse(line)

    # ------------------------------------------------------------ throughput table
    rps = {k: med(v, "rps") for k, v in runs.items()}
    hdr = (f"{'case':<10} {'conns':>5}  {'server':<15} {'req/s':>8} {'±%':>4} {'MB/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
           f"{'srv cpu%':>8} {'µs/req':>7} {'oth%':>4} {'rss MB':>6} {'errs':>5} {'×nginx':>7} {'×httplib':>8}")
    print(hdr)
    print("-" * len(hdr))
    keys = sorted(runs, key=lambda k: (CASE_ORDER.get(k[0], 9), k[1], SERVER_ORDER.get(k[2], 9)))
    prev = None
    for key in keys:
        case, c, server = key
        rows = runs[key]
        if prev is not None and prev != (case, c):
            print()
        prev = (case, c)
        r = rps[key]
        xs = [num(x.get("rps")) for x in rows]
        spread = (max(xs) - min(xs)) / 2 / r * 100 if r and len(xs) > 1 else float("nan")
        errs = statistics.median(
            sum(num(x.get(e), 0) for e in ("e_connect", "e_read", "e_write", "e_timeout", "e_status")) for x in rows)
        nx = rps.get((case, c, "nginx"))
        hl = rps.get((case, c, "min-httplib"))
        vs_n = f"{r / nx:.2f}" if server != "nginx" and nx else "-"
        vs_h = f"{r / hl:.2f}" if server in OTA and hl else "-"
        print(f"{case:<10} {c:>5}  {server:<15} {fmt(r):>8} {fmt(spread):>4} {fmt(med(rows, 'mbps'), 1):>8} "
              f"{fmt(med(rows, 'p50'), 2):>7} {fmt(med(rows, 'p99'), 2):>7} {fmt(med(rows, 'srv_cpu')):>8} "
              f"{fmt(med(rows, 'us_req')):>7} {fmt(med(rows, 'other_cpu')):>4} {fmt(med(rows, 'rss_kb') / 1024):>6} "
              f"{fmt(errs):>5} {vs_n:>7} {vs_h:>8}")
    n_rounds = max((len(v) for v in runs.values()), default=0)
    print(f"(medians of {n_rounds} round(s); ±% = half the min–max range of req/s; srv cpu% = server CPU over the run, "
          f"100 = one core; µs/req = server CPU per request; oth% = box CPU used by neither the server nor wrk; "
          f"rss = server tree VmRSS mid-run; errs = wrk connect/read/write errors + timeouts (>2 s) + non-2xx)")

    # asset tokens: what the tokens-on manifest costs next to tokens-off, per connection count
    tok = []
    for (case, c, server), r in sorted(rps.items(), key=lambda kv: kv[0][1]):
        if case == "manifest" and server == "ota-tok-on" and (case, c, "ota-tok-off") in rps:
            off = runs[(case, c, "ota-tok-off")]
            on = runs[(case, c, "ota-tok-on")]
            tok.append(f"c={c}: {r / rps[(case, c, 'ota-tok-off')]:.2f}× req/s, "
                       f"{fmt(med(on, 'us_req'))} vs {fmt(med(off, 'us_req'))} µs/req")
    if tok:
        print("asset tokens on ÷ off (manifest): " + "; ".join(tok))
    at = rps.get(("asset-50k", 64, "ota-asset-token"))
    ao = rps.get(("asset-50k", 64, "otaserver"))
    if at and ao:
        print(f"asset with token ÷ without (50 KB, c=64): {at / ao:.2f}× req/s")

    # ------------------------------------------------------------ many connections
    if not c1k:
        return
    servers = [s for s in ("otaserver", "nginx") if s in c1k]

    def mb(kv, key):
        return fmt(num(kv.get(key)) / 1024, 1)

    def probe(kv, p):
        if kv.get(p + "n") in (None, "0"):
            return "-"
        return (f"{fmt(num(kv.get(p + 'min')), 1)} / {fmt(num(kv.get(p + 'med')), 1)} / {fmt(num(kv.get(p + 'max')), 1)}"
                f"  fail {kv.get(p + 'fail')}/{kv.get(p + 'n')}")

    rows = [
        ("RSS before (VmRSS / VmHWM MB), threads",
         lambda k: f"{mb(k, 'rss_before_kb')} / {mb(k, 'hwm_before_kb')}, {k.get('threads_before') or '-'}"),
        ("fresh-client probe, quiet (min/med/max ms)", lambda k: probe(k, "p0_")),
        (f"holders answered (of {hold_n}), 2xx, failed",
         lambda k: f"{k.get('ready_ok')}, {k.get('ready_s2xx')}, {k.get('ready_failed')} (pending {k.get('ready_pending')})"),
        ("holders: time to answer t50/t99/max ms",
         lambda k: f"{k.get('ready_t50_ms')} / {k.get('ready_t99_ms')} / {k.get('ready_tmax_ms')}"),
        ("(a') fresh-client probe during the holders' burst (ms)", lambda k: probe(k, "pb_")),
        ("holder sockets open: at ready / +1 s / end",
         lambda k: f"{k.get('ready_open')} / {k.get('open_hold')} / {k.get('done_open')}  (server closed "
                   f"{k.get('done_closed_by_server')})"),
        ("RSS with holders (VmRSS / VmHWM MB), threads",
         lambda k: f"{mb(k, 'rss_hold_kb')} / {mb(k, 'hwm_hold_kb')}, {k.get('threads_hold') or '-'}"),
        ("(a) fresh-client probe with holders (ms)  [target < 100]", lambda k: probe(k, "p1_")),
        ("(b) wrk -c64 req/s: alone → with holders",
         lambda k: f"{fmt(num(k.get('base_rps')))} → {fmt(num(k.get('held_rps')))} "
                   f"({num(k.get('held_rps')) / num(k.get('base_rps'), 1):.2f}×)"),
        ("(b) wrk -c64 p99 ms: alone → with holders",
         lambda k: f"{fmt(num(k.get('base_p99')), 2)} → {fmt(num(k.get('held_p99')), 2)}"),
        ("(c) RSS during wrk -c64 with holders (MB)", lambda k: mb(k, "rss_held_wrk_kb")),
        (f"wrk -c{hold_n}: req/s, p50 / p99 ms",
         lambda k: f"{fmt(num(k.get('c1k_rps')))}, {fmt(num(k.get('c1k_p50')), 2)} / {fmt(num(k.get('c1k_p99')), 2)}"),
        (f"wrk -c{hold_n}: timeouts, connect/read errors, non-2xx",
         lambda k: f"{k.get('c1k_e_timeout')}, {k.get('c1k_e_connect')}/{k.get('c1k_e_read')}, {k.get('c1k_e_status')}"),
        (f"fresh-client probe during -c{hold_n} (ms)", lambda k: probe(k, "p2_")),
        (f"listen overflows during -c{hold_n}", lambda k: k.get("listen_overflows", "-")),
        (f"RSS during -c{hold_n} (MB), threads; VmHWM after",
         lambda k: f"{mb(k, 'rss_c1k_kb')}, {k.get('threads_c1k') or '-'}; {mb(k, 'hwm_after_kb')}"),
    ]
    print()
    w = max(len(r[0]) for r in rows) + 2
    cols = {s: max(len(s), *(len(str(f(c1k[s]))) for _, f in rows)) + 2 for s in servers}
    title = f"{hold_n} keep-alive connections (manifest)"
    print(f"{title:<{w}}" + "".join(f"{s:<{cols[s]}}" for s in servers))
    print("-" * (w + sum(cols.values())))
    for label, f in rows:
        print(f"{label:<{w}}" + "".join(f"{str(f(c1k[s])):<{cols[s]}}" for s in servers))
    if idle:
        print(f"otaserver idle ({idle.get('wait_s', '?')} s after setup): VmRSS {fmt(num(idle.get('rss_kb')) / 1024, 1)} MB, "
              f"VmHWM {fmt(num(idle.get('hwm_kb')) / 1024, 1)} MB, {idle.get('threads')} threads")
    print("(probes: fresh curl clients with a new connection, --max-time 2; 'fail' = no 200 within 2 s, counted as "
          "2000 ms; holders: one manifest request per connection, then idle; wrk hides starved connections)")


if __name__ == "__main__":
    main()
