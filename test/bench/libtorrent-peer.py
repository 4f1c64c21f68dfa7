#!/usr/bin/python3
"""Reference BitTorrent peer for `npm run bench`'s hybrid case (test/bench/hybrid-bench.ts, case 2:
one seeder -> one leecher on 127.0.0.1), so Shoal's time, CPU and memory sit next to libtorrent's
on the same torrent, the same data and the same machine. Driven by test/bench/libtorrent-peer.ts.

Needs Debian's python3-libtorrent (in .ci/setup) and Debian's /usr/bin/python3: a pyenv `python3`
on PATH has no `libtorrent` module. Measured with libtorrent 2.0.8 (python3-libtorrent
2.0.8-1+b1, Debian bookworm).

  --mode seed  --torrent FILE --dir DIR [--port N]
      DIR holds the complete data as named in the torrent; added in seed mode (no up-front re-hash:
      libtorrent verifies each piece the first time a peer asks for it). Prints
      {"event":"seeding","port":N} once it listens and seeds, runs until SIGTERM/SIGINT, then prints
      {"event":"stopped","uploaded":BYTES} (payload bytes sent).
  --mode leech --torrent FILE --dir DIR --peer HOST:PORT [--peer ...]
      Downloads into DIR from the given peers only, prints
      {"event":"done","seconds":S,"bytes":N,"cpuSeconds":C,"peakRssBytes":R} and exits 0: seconds
      from adding the torrent to libtorrent's torrent_finished_alert (every piece hash-checked and
      handed to the disk), bytes the payload received, CPU user+sys of this whole process, peak RSS
      its VmHWM. libtorrent 2.0 writes through mmap, so VmHWM counts the mapped file's resident
      pages (about the torrent's size); "rssAnonBytes" (RssAnon at the end) is its own heap.

Both modes: listen on 127.0.0.1 only; DHT, LSD, UPnP, NAT-PMP and PEX off; the torrent's trackers
and web seeds dropped before it starts, so nothing is announced or fetched over HTTP; an IP filter
that lets through only 127.0.0.0/8 and the --peer addresses; several connections per IP allowed;
no rate limits unless `--upload-limit BYTES` (per second, for every peer: loopback peers too,
which libtorrent otherwise leaves unlimited as local); TCP only (uTP off, as Shoal runs without
uTP); libtorrent's default settings otherwise. `--preset high-performance-seed` applies libtorrent's high_performance_seed() pack
instead. `--tick-ms N` sets tick_interval (default 500 ms), which also paces dialling: a leecher
dials its --peer on libtorrent's first tick, about 0.5 s after it starts with the default.
Encryption (MSE/PE) as Shoal's --peer-encryption: `off` (default, plaintext both ways, to match a
plaintext Shoal run), `prefer` (offer RC4, accept plaintext), `require` (RC4 only).
Errors print {"event":"error","message":...} and exit 1.
"""
import argparse
import json
import resource
import signal
import socket
import sys
import time

import libtorrent as lt


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def fail(message):
    emit("error", message=message)
    sys.exit(1)


def proc_status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def parse_peer(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


ENCRYPTION = {
    "off": (lt.enc_policy.pe_disabled, lt.enc_level.pe_both, False),
    "prefer": (lt.enc_policy.pe_enabled, lt.enc_level.pe_both, True),
    "require": (lt.enc_policy.pe_forced, lt.enc_level.pe_rc4, True),
}


def session_settings(args):
    settings = lt.high_performance_seed() if args.preset == "high-performance-seed" else {}
    policy, level, prefer_rc4 = ENCRYPTION[args.encryption]
    settings.update({
        "listen_interfaces": f"127.0.0.1:{args.port}",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "announce_to_all_trackers": False,
        "announce_to_all_tiers": False,
        "allow_multiple_connections_per_ip": True,
        "upload_rate_limit": args.upload_limit,
        "download_rate_limit": 0,
        "out_enc_policy": int(policy),
        "in_enc_policy": int(policy),
        "allowed_enc_level": int(level),
        "prefer_rc4": prefer_rc4,
        "alert_mask": int(lt.alert_category.status | lt.alert_category.error),
    })
    if args.tick_ms is not None:
        settings["tick_interval"] = args.tick_ms
    return settings


def loopback_filter(peers):
    f = lt.ip_filter()
    f.add_rule("0.0.0.0", "255.255.255.255", 1)
    f.add_rule("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1)
    f.add_rule("127.0.0.0", "127.255.255.255", 0)
    f.add_rule("::1", "::1", 0)
    for host, port in peers:
        for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP):
            f.add_rule(info[4][0], info[4][0], 0)
    return f


def main():
    p = argparse.ArgumentParser(description="libtorrent reference peer for Shoal's bench")
    p.add_argument("--mode", choices=["seed", "leech"], required=True)
    p.add_argument("--torrent", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--peer", type=parse_peer, action="append", default=[])
    p.add_argument("--encryption", choices=list(ENCRYPTION), default="off")
    p.add_argument("--preset", choices=["default", "high-performance-seed"], default="default")
    p.add_argument("--upload-limit", type=int, default=0, help="upload cap in bytes per second, loopback peers included (default: none)")
    p.add_argument("--tick-ms", type=int, help="libtorrent's tick_interval (default 500 ms); also how long a --peer waits to be dialled")
    args = p.parse_args()
    if args.mode == "leech" and not args.peer:
        p.error("--mode leech needs at least one --peer HOST:PORT")

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))

    ses = lt.session(session_settings(args))
    ses.set_ip_filter(loopback_filter(args.peer))
    if args.upload_limit:
        # By default 127/8 falls in the local peer class, which rate limits do not touch.
        every = lt.ip_filter()
        every.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        every.add_rule("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(every)

    try:
        ti = lt.torrent_info(args.torrent)
    except RuntimeError as e:
        fail(f"{args.torrent}: {e}")
    ti.set_web_seeds([])
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = args.dir
    atp.trackers = []
    # Added paused and not auto-managed, so its trackers can go before anything is announced.
    tf = lt.torrent_flags
    flags = atp.flags | tf.paused | tf.disable_dht | tf.disable_lsd | tf.disable_pex | tf.apply_ip_filter
    flags &= ~tf.auto_managed
    if args.mode == "seed":
        flags |= tf.seed_mode
    atp.flags = flags

    started = time.monotonic()
    h = ses.add_torrent(atp)
    h.replace_trackers([])
    h.resume()

    listening = False
    ready = False
    finished = None
    last_connect = 0.0
    while not stopping:
        for a in ses.pop_alerts():
            if isinstance(a, lt.listen_succeeded_alert) and a.socket_type == lt.socket_type_t.tcp:
                listening = True
            elif isinstance(a, (lt.listen_failed_alert, lt.torrent_error_alert, lt.file_error_alert)):
                fail(a.message())
            elif isinstance(a, lt.torrent_finished_alert) and args.mode == "leech":
                finished = time.monotonic()
        if args.mode == "seed":
            if not ready and listening and h.status().is_seeding:
                ready = True
                emit("seeding", port=ses.listen_port())
        elif finished is not None:
            st = h.status()
            emit("done", seconds=round(finished - started, 3), bytes=st.total_payload_download,
                 cpuSeconds=round(cpu_seconds(), 3), peakRssBytes=proc_status_bytes("VmHWM"),
                 rssAnonBytes=proc_status_bytes("RssAnon"))
            return 0
        else:
            # Dial the peers as soon as the torrent runs, and again while none is connected.
            now = time.monotonic()
            if now - last_connect >= 1.0 and h.status().num_peers == 0:
                last_connect = now
                for peer in args.peer:
                    h.connect_peer(peer)
        ses.wait_for_alert(100)

    st = h.status()
    emit("stopped", uploaded=st.total_payload_upload)
    return 0 if args.mode == "seed" else 1


if __name__ == "__main__":
    sys.exit(main())
