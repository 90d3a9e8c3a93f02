"""Print the Markdown table of every setting (``CAPSIGHT_*``), generated from the Settings class.

Names, order and defaults come from :class:`capsight.settings.Settings`; only the meanings are
written here. A field without a meaning is an error, so a new setting cannot slip into the code
undocumented; ``tests/test_docs.py`` checks that ``docs/scaling.md`` holds exactly this table.

    .venv/bin/python scripts/settings_table.py            # print the table
    .venv/bin/python scripts/settings_table.py --check docs/scaling.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic_core import PydanticUndefined

from capsight.settings import Settings

MEANINGS: dict[str, str] = {
    "host": "Interface to bind; `0.0.0.0` in a container. With auth off, `capsight serve` on any but a "
    "loopback address logs a warning: everyone who reaches it may read the request log and stored photos.",
    "port": "TCP port of the HTTP API.",
    "workers": "Server processes per replica. Each loads its own copy of the model; without Redis each "
    "also has its own cache and rate-limit counts, so a client gets up to N times `RATE_LIMIT` (and "
    "`AUTH_FAILURE_LIMIT`, and its API key's own rate): `capsight serve` warns of it at start, naming "
    "`REDIS_URL`.",
    "log_level": "`debug`, `info`, `warning` or `error`.",
    "cors_origins": 'Browser origins allowed to call the API, as a JSON list (`["https://app.example"]`; '
    '`["*"]` for any). Empty: no CORS headers, cross-origin browser calls are refused. With auth off, a '
    "browser's POST or DELETE from a page of another site (`Sec-Fetch-Site`) whose origin is not listed "
    "here gets `403`, so no web page can queue jobs or reload the model through its visitors.",
    "allowed_hosts": (
        "With auth off, dotted host names (JSON list, no port) requests may name in `Host`, beyond IP "
        "addresses, one-label names (`localhost`, a compose or Kubernetes service), `*.localhost` and the "
        "machine's own name; other names get `403`, so no web page can read the API by rebinding its own "
        'name to the server\'s address (DNS rebinding), e.g. `["capsight.lan"]`. `["*"]`: any.'
    ),
    "model_dir": "Folder holding `model.onnx` + `model.json`.",
    "model_name": "Reserved; not read yet: the served name is the `name` in `model.json`.",
    "intra_op_threads": (
        "ONNX Runtime threads per model call; `0` = automatic: 1 on at most 2 CPUs, else one per CPU "
        "(the cores the process may run on, capped by its container's CPU limit, cgroup v1 or v2)."
    ),
    "batch_max_size": "Most images the micro-batcher puts in one model call.",
    "batch_max_wait_ms": "Longest the first image of a batch waits for others to join it.",
    "queue_max": "Images admitted and waiting for the model; past this, requests get 503 with Retry-After "
    "at once.",
    "warmup": "Run the model once before reporting ready, so the first request is not slow.",
    "max_upload_bytes": "Largest image accepted (bytes); larger uploads get 413 before they are read (a "
    "multipart body may be 64 KiB larger for its framing). Also each object of an S3-prefix job (an error "
    "row, not downloaded).",
    "max_pixels": "Largest image accepted (width x height), checked from the header before decoding "
    "(decompression bombs get 413); a quarter of it for WebP and AVIF, whose decoders hold four times "
    "a still RGB image's memory a pixel. `capsight train`, `evaluate` and `quantize` skip (and list) photos "
    "over it too, so a model is trained and scored on the photos its server accepts.",
    "max_batch_images": "Most images in one `/v1/classify/batch` or `/v2` request.",
    "max_batch_upload_bytes": "Largest body of a multi-image request (bytes).",
    "body_idle_timeout_seconds": "Longest pause between two chunks of a request body before `408` "
    "(a stalled upload; the connection is closed). 0 = none.",
    "body_timeout_seconds": "The whole body of an image request must arrive within this, or `408` (a "
    "client dripping bytes). Job uploads have only the idle limit. 0 = none.",
    "request_head_timeout_seconds": "A request's line and headers must arrive within this, counted from "
    "the connection or, on a kept-alive connection, from the first byte of the next request, or the "
    "connection is closed without an answer (a client that connects and sends nothing, or a head a byte "
    "at a time: slowloris). At least 1; the body has its own limits above.",
    "max_request_head_bytes": "Most bytes of a request's line and headers together (`capsight serve`); "
    "a longer head gets `431` with a JSON error and the connection is closed, without being kept in memory. "
    "64 KiB passes any real client (nginx allows 32 KiB, uvicorn's h11 16 KiB); raise it only for huge "
    "cookies or tokens. Bodies never count: they have their own limits above. At least 1024.",
    "keep_alive_seconds": "An idle kept-alive connection is closed this long after its last answer "
    "(`capsight serve`, uvicorn's `timeout_keep_alive`). Behind a load balancer or proxy that reuses idle "
    "connections, set it longer than the balancer's idle timeout (AWS ALB 60 s, ingress-nginx to its "
    "upstreams 60 s, Google Cloud load balancers 600 s: e.g. 75, or 620), or a request it sends on a "
    "connection the server is closing that moment fails (a 502 now and then). At least 1.",
    "max_inflight_body_bytes": "Request bodies this process holds in memory at once (bytes), so a burst "
    "of large uploads cannot exhaust its memory; past it, uploads wait up to 10 s, then get `503` with "
    "Retry-After. Never below the largest single-request limit. A gzip or deflate V2 body counts what it "
    "inflates to. Job zip uploads go to disk and do not count (a JSON job request does). "
    "0 = no cap.",
    "decode_max_inflight_pixels": "Pixels this process decodes at once; larger decodes wait their turn, so "
    "a few small PNG bombs just under `MAX_PIXELS` (50 MP is ~200 MB decoded) cannot exhaust its memory. "
    "Counted in RGB pixels: modes that take more memory to make RGB count for more (a transparent PNG five "
    "times its pixels, greyscale 16-bit about twice). A quarter is kept for small decodes (phone JPEGs, "
    "decoded at reduced scale), so they never wait behind a queue of large ones; each part is first come, "
    "first served. 0 = no cap.",
    "data_dir": "Local state: the SQLite log and image folder (when no shared backends are set) and the "
    "spool. Per replica; put it on a persistent volume.",
    "database_url": "Request log, API keys and jobs. Unset: SQLite file `<data_dir>/capsight.db`. For "
    "replicas: `postgresql://user:pass@host:5432/capsight`.",
    "storage_url": "Where request images are kept: a folder, or `s3://bucket/prefix`. Unset: "
    "`<data_dir>/images`.",
    "s3_endpoint_url": "S3 API endpoint for non-AWS stores (MinIO, ...). Credentials come from the usual "
    "`AWS_*` variables or the instance role.",
    "store_images": "Keep the bytes of every classified image (their sha256 is logged either way).",
    "request_log": "Log every classification (request id, client, model, label, probabilities, latency, "
    "image facts).",
    "spool_max_image_bytes": "Disk budget for images spooled while the database or image store is down. "
    "Past it the spool still keeps every record, without its image; 0: no limit.",
    "retention_days": "Delete log rows, images and feedback older than this many days (fractions too, as "
    "`capsight db purge --older-than-days` takes: `0.5` is 12 hours), on start and hourly (with "
    "`REQUEST_LOG` off too: what was logged before is deleted all the same), and jobs that ended longer "
    "ago than this, with their results (each replica deletes its own job folders); `0` keeps everything.",
    "redis_url": "Shared result cache and rate limits for all replicas, e.g. `redis://redis:6379/0`. "
    "Unset: in-process per worker.",
    "redis_prefix": "Start of every Redis key (`<prefix>cache:...`, `<prefix>rl:...`). Deployments sharing "
    "one Redis database (staging and production, say) need one each, e.g. `capsight-staging:`; end "
    "it with `:`. Up to 64 visible ASCII characters, not `*`, `?`, `[`, `]` or `\\`. The default keeps the "
    "key names of releases before this setting.",
    "cache_size": "Entries of the in-process LRU result cache (also the fallback while Redis is down); "
    "`0` disables caching.",
    "cache_max_bytes": "Bytes the in-process LRU result cache may hold (keys and results; a result lists "
    "every class probability, so a 1,000-class model's is ~20 KB); the least recently used go first. "
    "`0`: bounded by `CACHE_SIZE` only.",
    "cache_ttl_seconds": "Lifetime of a result in the Redis cache.",
    "rate_limit": "Default limit per client (API key, or IP when auth is off), e.g. `100/minute`, in "
    "requests (a batch is one, whatever its images); a key created with `--rate` has its own; an IPv6 "
    "client counts under its /64, one carrying an IPv4 address (NAT64 `64:ff9b::/96`, 6to4, Teredo) as "
    "that IPv4 address. Unset: unlimited.",
    "auth_failure_limit": "Failed authentications allowed per client address, e.g. `60/minute` (a request "
    "without credentials, or a JWT with a valid signature refused for its claims, expired say, is no "
    "failure: it guesses nothing); past it the "
    "address gets `429` (with Retry-After) before its credentials are looked up, so made-up keys cannot "
    "load the key store; an IPv6 client counts under its /64, one carrying an IPv4 address "
    "(NAT64 `64:ff9b::/96`, 6to4, Teredo) as that IPv4 address. Unset: no limit. Only behind proxies "
    "that pass the client's address on "
    "(`FORWARDED_ALLOW_IPS`): otherwise all clients share the proxy's address and one failing client "
    "locks out the rest.",
    "auth_enabled": "Require an API key (`Authorization: Bearer` or `X-API-Key`) or a JWT on classify and "
    "admin endpoints. Health, metrics and docs stay open.",
    "jwt_secret": "Accept HS256 JWT bearer tokens signed with this secret (`sub` = client, `scope` = "
    "`classify` or `admin`, or `scp` without a `scope` (Okta, Entra ID), optional `rate_limit`). At least "
    "32 bytes (`openssl rand -base64 32`); a "
    "shorter or placeholder (`change-me`, `REPLACE_ME`) secret stops start-up.",
    "jwt_previous_secret": "An HS secret still accepted beside `JWT_SECRET`, to rotate it without an "
    "outage: set the new secret in `JWT_SECRET` and the old one here, move every token minter to the new "
    "one, then unset this. Checked and kept as `JWT_SECRET` is.",
    "jwt_public_key": "Accept RS256/ES256 JWTs verified with this PEM public key (text or file path; an "
    "identity provider's PEM signing certificate works too). Several PEM blocks, one after the other, "
    "are several keys, a token signed by any one is taken: list the provider's next key beside the "
    "current one before it rotates, drop the old one once its tokens have expired. A token whose `kid` "
    "names a key by its RFC 7638 thumbprint, or a certificate by its `x5t` (Entra ID, AD FS), is checked "
    "with that key alone. Or the provider's JWKS (its `/.well-known/jwks.json` saved, as text or file): "
    "each signing key in it is one, and a token's `kid` picks it (the server does not fetch the URL). "
    "Set this or `JWT_SECRET`, not both: tokens are verified with one key, so both set stops start-up. "
    "`JWT_ALGORITHM` must fit the key (an EC P-256 key: `ES256`; the default `HS256` means `RS256` here); "
    "a key it cannot use stops start-up, naming the algorithm to set.",
    "jwt_algorithm": "JWT algorithm (`HS256`, `RS256`, `ES256`, ...).",
    "jwt_audience": "The `aud` a token must carry (your identity provider's API identifier). Several, "
    "comma-separated (`capsight-web,api://capsight`): a token whose `aud` names any one of them is taken "
    "(an audience with a comma in it cannot be given). Set it whenever the signing key also signs tokens "
    "for other services; unset, tokens that name an audience are refused.",
    "jwt_issuer": "The `iss` a token must carry (e.g. `https://login.example/`); several, comma-separated, "
    "while moving between identity providers or tenants: a token from any one is taken, each compared "
    "whole. Unset: not checked.",
    "jwt_require_exp": "Refuse tokens without an `exp` (expiry) claim: a leaked token without one is "
    "valid for ever.",
    "jwt_leeway_seconds": "Clock skew allowed when checking `exp`, `nbf` and `iat`.",
    "job_url_allowlist": "Where `POST /v1/jobs` may fetch images, as a JSON list of hosts "
    "(`images.example.com`, default ports only), URL prefixes (`https://cdn.example.com/photos/`) and S3 "
    "prefixes (`s3://bucket/prefix`). Empty: URL and S3 jobs are refused (400).",
    "job_url_private_networks": 'Networks (JSON list, `["10.20.0.0/16"]`) that an allow-listed image '
    "host's name may resolve to beyond public addresses. A download resolves the name once, connects to "
    "the address it checked, and refuses loopback, private, link-local (`169.254.169.254`), multicast and "
    "reserved ones outside these networks (the row's error says which); a URL naming an allow-listed IP "
    "address is fetched as listed. Empty: only public addresses.",
    "webhook_secret": "Key of the HMAC-SHA256 signature on job webhooks (`X-Capsight-Signature`); at "
    "least 32 bytes, like `JWT_SECRET`. Unset: jobs with a `webhook_url` are refused.",
    "webhook_allowlist": "Hosts or URL prefixes that job webhooks may be sent to (same forms as "
    "`JOB_URL_ALLOWLIST`). Empty: webhooks are refused.",
    "webhook_private_networks": "Networks (JSON list) that an allow-listed webhook receiver's name may "
    "resolve to beyond public addresses, as `JOB_URL_PRIVATE_NETWORKS` is for image hosts: a receiver "
    "name resolving elsewhere inside the network is not called (`last_error` `NotAllowed: ...`). Empty: "
    "only public addresses, and receivers listed by IP address.",
    "job_workers": "Jobs run at once by this process (in background threads, sharing the model). `0`: "
    "this process only accepts jobs; another one with workers runs them, sharing its database. On the "
    "embedded SQLite database (no `CAPSIGHT_DATABASE_URL`, or a `sqlite:` one) that can only be a "
    "`capsight serve` on this machine using the same file, so such a server warns at start that every "
    "job it accepts (zip, URL list or S3 prefix) stays queued until one runs; with "
    "`CAPSIGHT_DATABASE_URL` naming a shared database (PostgreSQL) nothing is said.",
    "job_batch_size": "Images per model call in a job. Small, so a request arriving meanwhile waits at "
    "most one small batch.",
    "max_job_upload_bytes": "Largest zip accepted by `POST /v1/jobs` (bytes); larger uploads get 413.",
    "max_job_images": "Most images in one job (zip members, URLs, or the objects an S3 prefix lists).",
    "max_job_uncompressed_bytes": "Most bytes a job's zip may inflate to (the sizes its directory claims, "
    "checked before extraction and enforced during it); zip bombs get 413.",
    "max_queued_jobs": "Most jobs waiting in the queue (all replicas together); past this, `POST /v1/jobs` "
    "gets 503 with Retry-After before the upload is read. `0`: no limit.",
    "max_job_disk_bytes": "Bytes of job inputs this replica keeps on its data disk: zip uploads waiting or "
    "running (each holds its upload plus what it inflates to from the moment it is accepted), extracted "
    "and downloaded images. A zip that does not fit now gets 503 with Retry-After (checked from "
    "Content-Length before the body is read, and while it streams); one that needs more than the whole "
    "budget gets 413; a URL job whose images do not fit fails. Keep it, plus `SPOOL_MAX_IMAGE_BYTES`, "
    "below the data volume's size. `0`: no limit.",
}

HEADER = "| Variable | Default | Meaning |\n|---|---|---|"


def _default(name: str) -> str:
    field = Settings.model_fields[name]
    if name == "model_dir":
        return "`models/bottle-status` (bundled)"
    value: Any = (
        field.default
        if field.default is not PydanticUndefined
        else field.get_default(call_default_factory=True)
    )
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "`[]`" if not value else f"`{value}`"
    return f"`{value}`"


def render_table() -> str:
    missing = [name for name in Settings.model_fields if name not in MEANINGS]
    if missing:
        raise SystemExit(f"settings without a meaning in {__file__}: {', '.join(missing)}")
    rows = [
        f"| `CAPSIGHT_{name.upper()}` | {_default(name)} | {MEANINGS[name]} |"
        for name in Settings.model_fields
    ]
    return "\n".join([HEADER, *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", type=Path, help="exit 1 unless this file contains the current table")
    args = parser.parse_args()
    table = render_table()
    if args.check is None:
        print(table)
        return
    if table not in args.check.read_text():
        sys.exit(f"{args.check} is out of date: paste the output of scripts/settings_table.py")


if __name__ == "__main__":
    main()
