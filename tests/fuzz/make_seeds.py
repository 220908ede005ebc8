#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ (stdlib only).

Seeds are small, real-looking inputs: the committed `expo export` fixture, header values as
expo-updates clients and browsers send them, the packaged config file, and tokens made with the
fixed keys the stateful targets use (fuzz_support.h, url_token_fuzz.cpp, fuzz_tokens.h), so they
verify. Archives for corpus/tar come from our own tar writer (the tar_seed tool of a fuzz build).

    tests/fuzz/make_seeds.py [--tar-seed build/fuzz/fuzz/tar_seed]

Existing files with the same names are overwritten; other files (findings kept as regression
seeds, `regress-*`) are left alone.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(ROOT, "..", "shared", "fixtures", "expo-export", "57.0.0")
NOW_MS = 1_800_000_000_000
NOW_S = NOW_MS // 1000


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sha256_b64url(data: bytes) -> str:
    return b64url(hashlib.sha256(data).digest())


def write(target: str, name: str, content) -> None:
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(content)


def fixture(*parts: str) -> bytes:
    with open(os.path.join(FIXTURE, *parts), "rb") as f:
        return f.read()


def many(target: str, items) -> None:
    for i, content in enumerate(items):
        write(target, "seed-%02d" % i, content)


BUNDLE_HASH = sha256_b64url(b"console.log('bundle')")
PNG_HASH = sha256_b64url(b"\x89PNG")
UUID1 = "0754dad0-d200-4634-8a0b-6a5e3f2a7d1f"
UUID2 = "e0d7b6f2-1c1e-4f0a-9a6b-2f1b0c9d8e7a"


def url_token(key: bytes, kid: str, app: str, asset: str, exp: int) -> str:
    message = "v1\n%s\n%s\n%s\n%d" % (kid, app, asset, exp)
    mac = b64url(hmac.new(key, message.encode(), hashlib.sha256).digest())
    return "v1.%s.%d.%s" % (kid, exp, mac)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tar-seed", default=os.path.join(ROOT, "build", "fuzz", "fuzz", "tar_seed"))
    args = ap.parse_args()

    many("encoding", [BUNDLE_HASH, hashlib.sha256(b"x").hexdigest(), hashlib.sha256(b"x").hexdigest().upper(),
                      base64.b64encode(b"an RSA signature, 256 bytes in real life").decode(), "18221", UUID1,
                      "%41%2f", "0", "000123", "dGVzdA", "dGVzdA==", "ota_fuzzAdmin001_" + b64url(b"x" * 32)])

    if os.path.exists(args.tar_seed):
        subprocess.run([args.tar_seed, os.path.join(HERE, "corpus", "tar")], check=True)
    else:
        print("note: %s not built; corpus/tar not refreshed" % args.tar_seed, file=sys.stderr)

    many("net", ["10.0.0.0/8", "127.0.0.1/32,::1/128", "2001:db8::/32", "::ffff:192.0.2.1", "192.0.2.7",
                 "fe80::1", " 10.0.0.0/8 , 192.168.0.0/16 ", "10.0.0.5/8", "::/0", "0.0.0.0/0"])
    many("forwarded", ["10.0.0.1 443\n203.0.113.9, 10.0.0.2", "127.0.0.1 50432\n198.51.100.1\n10.1.1.1, 127.0.0.1",
                       "::1 8080\n2001:db8::7, unknown", "203.0.113.9 1234\n1.2.3.4",
                       "::ffff:10.0.0.1 1\n[2001:db8::1]:443", "10.0.0.1 80\n10.0.0.3, 10.0.0.2",
                       "192.168.7.7 443\n  2001:db8::1 ,\t198.51.100.7  "])
    many("sfv", ['sig, keyid="main", alg="rsa-v1_5-sha256"', 'sig=:dGVzdA==:, keyid="main"',
                 '"%s", "%s"' % (UUID1, UUID2), 'a=1.5, c=?0, d=(1 2);x, e=-12, *f=tok/en:x, g="q\\"s"',
                 'a;p=1;q="s", b', "true", 'keyid="root", keyid="main"'])
    headers = "\n".join([
        "expo-platform: ios", "expo-runtime-version: 1.0.0", "expo-protocol-version: 1",
        "expo-channel-name: production", "expo-current-update-id: " + UUID1.upper(),
        "expo-embedded-update-id: " + UUID2, "eas-client-id: 3F2504E0-4F89-41D3-9A0C-0305E82C3301",
        'expo-expect-signature: sig, keyid="main", alg="rsa-v1_5-sha256"',
        "accept: multipart/mixed,application/expo+json,application/json",
        'expo-recent-failed-update-ids: "%s"' % UUID2,
        'expo-extra-params: release-channel="beta", user-group=1',
        "expo-json-error: false", "expo-updates-environment: production"])
    many("manifest_request", [
        headers,
        "Expo-Platform: android\r\nExpo-Runtime-Version: exposdk:57.0.0\r\nAccept: application/expo+json\r\n",
        "expo-platform: ios\nexpo-runtime-version: 1.0.0\nexpo-protocol-version: 0\nexpo-protocol-version: 1",
        "expo-platform: IOS\nexpo-runtime-version: 1.0.0", "expo-platform: android\nexpo-runtime-version: ",
        "expo-platform: ios\nexpo-runtime-version: 1\naccept: text/html",
        "expo-platform: ios\nexpo-runtime-version: 1\nexpo-protocol-version: 2",
        "expo-platform: ios\nexpo-runtime-version: 1\nexpo-expect-signature: true"])
    many("accept", ["multipart/mixed,application/expo+json,application/json",
                    "application/expo+json;q=0.9, application/json;q=0.8, multipart/mixed", "*/*", "text/html",
                    'multipart/*;q=0, application/json;profile="x,y";q=0.5', "application/expo+json",
                    "multipart/mixed;q=0, */*;q=0.1", "text/*;q=1.000, application/*;q=0.001"])
    many("accept_encoding", ["gzip br\ngzip, deflate, br", "gzip br\nbr;q=1.0, gzip;q=0.8, *;q=0.1",
                             "gzip\nidentity;q=0", "br\n*;q=0", "\n", "gzip br\nx-gzip;q=0.5, BR;Q=0",
                             "gzip br\ngzip;q=0.5"])
    many("range", ["1000\nbytes=0-499", "1000\nbytes=-500", "1000\nbytes=500-", "0\nbytes=0-",
                   "10485760\nbytes=0-,0-", "1000\nBytes=5-1", "1000\nbytes=99999999999999999999-",
                   "1000\nbytes=-0", "1000\nitems=0-1", "1000\nbytes= 0-1 , "])
    etag = '"%s"' % BUNDLE_HASH
    many("if_none_match", [etag + "\n" + etag, '"abc"\nW/"abc", "def"', '"abc"\n*', '"x"\n"a", W/"b" ,"x"',
                           'W/"weak"\n"weak"', etag + '\n"unterminated'])
    many("http_date", ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                       "Sun Nov  6 08:49:37 1994", "Wed, 21 Oct 2015 07:28:00 GMT",
                       "Thu, 31 Dec 1998 23:59:60 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
                       "Mon, 29 Feb 2021 00:00:00 GMT"])
    many("version", [">=3.4.0 <3.5.0\n3.4.1\n3.5\n3.4", "3.4.x\n3.4.999999999\n3.5.0\n3", "*\n1\n2.0\n10.2",
                     "=3.4\n3.4.0.0\n3.4.0.1\n", ">3 <3.0.0.1\n3\n3.0.0.1\n4", "999999999.x\n999999999.1\n1\n",
                     "1.2.3 <=2 >=1.2.3\n1.2.3\n2\n2.0.0.1", "=>3\n3\n", "3.x >=3.2\n3.2\n"])

    # url_token_fuzz: its fixed keys; k3 signs, k2 still verifies, k1 is retired.
    k1, k2, k3 = b"url-key-k1-retired-before-now...", b"url-key-k2-retires-in-an-hour...", \
        b"url-key-k3-signs-new-tokens-...."
    many("url_token", [
        "\n".join([url_token(k3, "k3", "app", BUNDLE_HASH, NOW_S + 3600), "app", BUNDLE_HASH, "3600"]),
        "\n".join([url_token(k2, "k2", "app", PNG_HASH, NOW_S + 86400), "app", PNG_HASH, "86400"]),
        "\n".join([url_token(k1, "k1", "app", PNG_HASH, NOW_S + 60), "app", PNG_HASH, "60"]),
        "\n".join([url_token(k3, "k3", "app", BUNDLE_HASH, NOW_S - 1), "app", BUNDLE_HASH, "0"]),
        "\n".join([url_token(k3, "k3", "app", BUNDLE_HASH, NOW_S + 8 * 86400), "app", BUNDLE_HASH, "691200"]),
        "\n".join([url_token(k3, "k3", "other", BUNDLE_HASH, NOW_S + 3600), "app", BUNDLE_HASH, "1"])])

    # admin_token_fuzz and session_fuzz: fuzz_tokens.h.
    tokens = {"admin": "ota_fuzzAdmin001_" + b64url(b"admin token secret: 32 bytes...."),
              "bound": "ota_fuzzBound002_" + b64url(b"bound publish token, 1h left...."),
              "revoked": "ota_fuzzRevoke03_" + b64url(b"revoked read token secret bytes."),
              "expired": "ota_fuzzExpire04_" + b64url(b"expired admin token secret bytes")}
    many("admin_token", ["Bearer " + tokens["admin"], tokens["bound"], "bearer   " + tokens["bound"] + "  ",
                         "Bearer " + tokens["revoked"], "Bearer " + tokens["expired"],
                         "Bearer ota_fuzzAdmin001_" + b64url(b"x" * 32), "Basic dXNlcjpwYXNz"])
    live = (b64url(b"live session id, 32 bytes long.."), b64url(b"csrf token of the live session.."))
    many("session", ["%s\n%s" % live, "%s\nwrong" % live[0],
                     "%s\n%s" % (b64url(b"expired session id, 32 bytes...."), b64url(b"csrf of the expired session.....")),
                     b64url(b"session of a revoked token......") + "\n",
                     b64url(b"session of an expired token.....") + "\n", "not-a-session\n"])

    # patch_template_fuzz and patch_link_fuzz: fuzz_patches.h (templates and patches).
    many("patch_template", ["/rc/3.4.1/18221.config\n\n\napp ios 3.4.1 18221",
                            "/rc/3.4.2/100.config\ndevice-42\n\napp ios 3.4.2 100",
                            "/p/ios/1.0-77\ndev-1\n\napp2 ios 1.0 77", "/v/9/1.2\n\n\napp3 android 1.2 9",
                            "/v/9/1.7\n\n\napp3 android 1.7 9", "\ndev-2\n\napp android 3.4.7 1",
                            "/rc/3.4.1/18221.config\n\n%s\napp ios 3.4.1 18221" % sha256_b64url(b"require('fix-1')"),
                            "/rc/3.4.x/1.config\n\n\nnope ios 1 1", "/p/web/1-1\n\n\napp4 ios 1 1"])
    many("patch_link", ["garbage", "AAAAAAAAAAAAAAAAAAAAAA.1800000060.%s\n0 1" % ("A" * 43), "x\nexpire",
                        "\n40 4", "\n0 0", "\n.", "%s.%d.%s\n999 1" % ("n" * 22, NOW_S, "m" * 43)])

    meta = fixture("update1", "metadata.json")
    m = json.loads(meta)
    web = json.loads(meta)
    web["fileMetadata"]["web"] = {"bundle": "_expo/static/js/web/index.js", "assets": []}
    only_ios = {"version": 0, "bundler": "metro", "fileMetadata": {"ios": m["fileMetadata"]["ios"]}}
    evil = json.loads(meta)
    evil["fileMetadata"]["ios"]["assets"].append({"path": "assets/../../etc/passwd", "ext": "png"})
    many("export_metadata", [meta, fixture("update2", "metadata.json"), json.dumps(web), json.dumps(only_ios),
                             json.dumps(evil), '{"version":1,"bundler":"metro","fileMetadata":{}}'])

    expo = json.loads(fixture("app.json"))["expo"]
    variants = []
    for rv in ["1.2.3", {"policy": "nativeVersion"}, {"policy": "sdkVersion"}, {"policy": "fingerprint"},
               "file:fingerprint"]:
        e = dict(expo)
        e["runtimeVersion"] = rv
        variants.append(json.dumps({"expo": e}))
    e = dict(expo)
    e["ios"] = dict(e["ios"], runtimeVersion="ios-2", version=7)
    variants.append(json.dumps(e))
    many("app_config", [fixture("app.json"), fixture("expoConfig.json")] + variants)

    expo_client = json.loads(fixture("expoConfig.json"))
    commit = {"message": "fix login", "expo_client": expo_client, "rollout_percent": 100,
              "channel": "production", "git": {"commit": "0" * 40, "branch": "main"},
              "idempotency_key": "6f1d2c3b4a5e6f708192a3b4c5d6e7f8", "metadata": {"branch": "main"},
              "platforms": {p: {"runtime_version": "1.0.0",
                                "launch_asset": {"sha256": BUNDLE_HASH, "ext": "hbc"},
                                "assets": [{"sha256": PNG_HASH, "ext": "png"}]} for p in ("ios", "android")}}
    small = {"branch": "main", "platforms": {"ios": {"runtime_version": "exposdk:57.0.0",
                                                     "launch_asset": {"sha256": BUNDLE_HASH, "ext": "js"}}}}
    many("commit_request", [json.dumps(commit), json.dumps(small), json.dumps(dict(small, rollout_percent=101)),
                            '{"platforms":{"web":{}}}'])
    many("rollback_request", ['{"runtime_version":"1.0.0","platform":"ios","channel":"production","message":"back"}',
                              '{"runtime_version":"1.0.0"}', '{"runtime_version":" 1.0.0","platform":"all"}',
                              '{"runtime_version":"1.0.0","platform":"web","branch":"main"}'])
    many("patch_request", [
        json.dumps({"platform": "ios", "range": ">=3.4.0 <3.5.0", "build": "18221", "sha256": BUNDLE_HASH,
                    "policy": 0, "rollout_percent": 100, "preview_devices": ["dev-1"], "message": "fix crash"}),
        json.dumps({"platform": "android", "version": "3.4.0", "sha256": PNG_HASH,
                    "signature": base64.b64encode(b"s" * 256).decode()}),
        json.dumps({"platform": "ios", "range": "3.4.x", "version": "3.4.0", "sha256": PNG_HASH}),
        json.dumps({"platform": "ios", "range": "*", "sha256": PNG_HASH, "policy": 3})])

    with open(os.path.join(ROOT, "packaging", "otaserver.conf"), "rb") as f:
        packaged = f.read()
    many("config", [b"\n\n" + packaged,
                    "--listen 127.0.0.1:0 --workers=8 --access-log false\nOTA_LOG_LEVEL=debug\tOTA_PUBLIC_URL=https://ota.example.com/\n"
                    "data = /var/lib/otaserver\ntrusted_proxies = \"127.0.0.1/32, ::1/128\"\n",
                    "\n\nlisten = [::1]:8443\npublic_url = HTTPS://ota.example.com//\nmax_upload_bytes = 1048576\n",
                    "--print-config -h -- extra\n\nworker = 8\n", "\nOTA_WORKERS=0\n", "\n\nlog_level = verbose\n"])
    many("backup_manifest", [
        "otaserver-backup 1\ncreated_at_ms 1800000000000\nschema_version 6\n"
        "file 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae 3 blobs/CURRENT\n"
        "file %s 4096 metadata.db\nfile %s 32 secret.key\n" % (hashlib.sha256(b"db").hexdigest(),
                                                               hashlib.sha256(b"k").hexdigest()),
        "otaserver-backup 1\n", "otaserver-backup 1\nfile %s 1 ../secret.key\n" % ("0" * 64),
        "otaserver-backup 2\ncreated_at_ms 1\n"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
