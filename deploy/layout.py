#!/usr/bin/env python3
"""The production process layout on one host (127.0.0.1), up and down with one command.

    python deploy/layout.py up --database postgres://postgres@127.0.0.1:5432/oms \\
        --broker redis://127.0.0.1:6379/2 [--nodes 2] [--migrate] [--var var/layout]
    python deploy/layout.py status [--var var/layout]
    python deploy/layout.py down [--var var/layout]
    python deploy/layout.py run [--var var/layout] -- python manage.py createsuperuser

What `up` starts, each in a process group of its own (docs/deploy.md):
- PgBouncer (`pool_mode = transaction`) in front of PostgreSQL, from an ini it writes under
  `<var>/pgbouncer/`. Web and workers connect through it (`DB_POOLER=transaction`); migrations
  and beat's schedule lock go straight to PostgreSQL (`DATABASE_DIRECT_URL`).
- N nodes (`--nodes`), each a small supervisor (`layout.py node`) whose children share its
  process group: gunicorn on port `--port` + i - 1, one Celery worker per queue with that
  queue's concurrency (QUEUES below), and a beat. Beats wait on a PostgreSQL advisory lock
  (oms/celery.py): one schedules, the others stand by. A child that exits is started again.
- The broker is Redis (`redis://`) or RabbitMQ (`amqp://`; the vhost is created with
  rabbitmqctl when missing). Both must be running already, as must PostgreSQL.

Secrets (SECRET_KEY, FIELD_ENCRYPTION_KEY) are generated once into `<var>/secrets.json`.
`run` executes a command with the layout's environment (straight to PostgreSQL).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PGBOUNCER = os.environ.get("PGBOUNCER", shutil.which("pgbouncer") or "/usr/sbin/pgbouncer")
# Queue -> worker processes per node. allocation is CPU-bound (one process per core); the others
# wait on vendors and merchants' servers, so they take more per core.
QUEUES = {"ingest": 4, "allocation": 2, "labels": 4, "sync": 2, "notifications": 2, "default": 2}
STOP_SECONDS = 30


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# --- the configuration `up` writes and every other command reads ------------------------------
def state_path(var: Path) -> Path:
    return var / "layout.json"


def load_state(var: Path) -> dict[str, Any]:
    path = state_path(var)
    if not path.exists():
        sys.exit(f"no layout under {var} (run `up` first)")
    return json.loads(path.read_text())


def save_state(var: Path, state: dict[str, Any]) -> None:
    tmp = var / "layout.json.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(state_path(var))


def with_host_port(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{auth + '@' if auth else ''}{host}:{port}"))


def app_env(state: dict[str, Any], *, direct: bool = False) -> dict[str, str]:
    """The environment of every Django process of the layout."""
    var = Path(state["var"])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms.settings.prod",
        "DATABASE_URL": state["direct_url"] if direct else state["pooled_url"],
        "DATABASE_DIRECT_URL": state["direct_url"],
        "DB_POOLER": "" if direct else "transaction",
        "CELERY_BROKER_URL": state["broker"],
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "OMS_VAR_DIR": str(var / "app"),
        "PYTHONUNBUFFERED": "1",
        **json.loads((var / "secrets.json").read_text()),
    }
    env.pop("REDIS_URL", None)
    if state.get("redis"):
        env["REDIS_URL"] = state["redis"]
    env.update(state.get("env", {}))
    return env


# --- waiting ------------------------------------------------------------------------------------
def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
    except (OSError, ValueError):
        return 0, {}


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs (a zombie no one reaped yet does not count)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (proc / "stat").read_text().rpartition(")")[2].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    return True
    return False


def stop_group(pgid: int, *, timeout: float = STOP_SECONDS) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and group_alive(pgid):
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def spawn_group(argv: list[str], *, log: Path, env: dict[str, str] | None = None, **kw: Any) -> int:
    """A process that leads a new process group (and session) of its own; its children join it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, **kw,
        )  # fmt: skip
    return proc.pid


# --- PgBouncer and RabbitMQ ------------------------------------------------------------------------
def pgbouncer_start(var: Path, direct_url: str, port: int) -> int:
    parts = urlsplit(direct_url)
    user = parts.username or "postgres"
    server = f"host={parts.hostname or '127.0.0.1'} port={parts.port or 5432}"
    if parts.password:
        server += f" password={parts.password}"
    home = var / "pgbouncer"
    home.mkdir(parents=True, exist_ok=True)
    (home / "userlist.txt").write_text(f'"{user}" ""\n')
    (home / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"* = {server}",
                "",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {home / 'userlist.txt'}",
                # A server connection serves one client for one transaction, then the next client.
                "pool_mode = transaction",
                "max_client_conn = 1000",
                "default_pool_size = 20",
                "reserve_pool_size = 5",
                "server_idle_timeout = 60",
                f"admin_users = {user}",
                "ignore_startup_parameters = extra_float_digits,options",
                "log_connections = 0",
                "log_disconnections = 0",
                "",
            ]
        )
    )
    argv = [PGBOUNCER, str(home / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        runner = "postgres" if _user_exists("postgres") else "nobody"
        argv[1:1] = ["-u", runner]
    pid = spawn_group(argv, log=var / "log" / "pgbouncer.log")
    deadline = time.monotonic() + 15
    while not port_open(port):
        if time.monotonic() > deadline or not group_alive(pid):
            sys.exit("pgbouncer did not start:\n" + (var / "log" / "pgbouncer.log").read_text()[-2000:])
        time.sleep(0.1)
    return pid


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def rabbitmq_vhost_ensure(broker: str) -> None:
    parts = urlsplit(broker)
    vhost = parts.path.lstrip("/") or "/"
    user = parts.username or "guest"
    listed = subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True, text=True, check=True)
    if vhost not in listed.stdout.split():
        subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
        check=True, capture_output=True,
    )  # fmt: skip


# --- commands -------------------------------------------------------------------------------------
def cmd_up(args: argparse.Namespace) -> None:
    var = Path(args.var).resolve()
    if state_path(var).exists() and any(group_alive(p) for p in _all_groups(load_state(var))):
        sys.exit(f"a layout is already running under {var} (run `down` first)")
    (var / "log").mkdir(parents=True, exist_ok=True)
    secrets_file = var / "secrets.json"
    keys = json.loads(secrets_file.read_text()) if secrets_file.exists() else {}
    generated = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": lambda: secrets.token_urlsafe(32),
        "METRICS_TOKEN": lambda: secrets.token_urlsafe(24),  # the scraper's bearer token for /metrics
    }
    if not generated.keys() <= keys.keys():
        keys = {name: keys.get(name) or make() for name, make in generated.items()}
        secrets_file.write_text(json.dumps(keys))
        secrets_file.chmod(0o600)
    concurrency = dict(QUEUES)
    for item in filter(None, args.concurrency.split(",")):
        queue, _, n = item.partition("=")
        if queue not in QUEUES:
            sys.exit(f"unknown queue {queue!r} (queues: {', '.join(QUEUES)})")
        concurrency[queue] = int(n)
    state: dict[str, Any] = {
        "var": str(var),
        "direct_url": args.database,
        "pooled_url": with_host_port(args.database, "127.0.0.1", args.pgbouncer_port),
        "broker": args.broker,
        "redis": args.redis or (args.broker if args.broker.startswith("redis") else ""),
        "env": dict(item.split("=", 1) for item in args.env),
        "queues": concurrency,
        "web_workers": args.web_workers,
        "beat_interval": args.beat_max_interval,
        "nodes": {str(i): {"port": args.port + i - 1} for i in range(1, args.nodes + 1)},
    }
    if args.broker.startswith("amqp"):
        rabbitmq_vhost_ensure(args.broker)
    if args.migrate:
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "--skip-checks", "-v", "0"], cwd=ROOT,
                       env=app_env(state, direct=True), check=True)  # fmt: skip
    if args.collectstatic:
        subprocess.run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT,
                       env=app_env(state, direct=True), check=True)  # fmt: skip
    state["pgbouncer_pid"] = pgbouncer_start(var, args.database, args.pgbouncer_port)
    save_state(var, state)
    for index in state["nodes"]:
        node_start(var, state, index)
    if args.wait:
        wait_healthy(state, timeout=args.wait)
    say(status_text(state))


def node_start(var: Path, state: dict[str, Any], index: str) -> None:
    pid = spawn_group(
        [PYTHON, str(Path(__file__).resolve()), "node", "--var", str(var), "--index", index],
        log=var / f"node-{index}" / "node.log",
    )
    state["nodes"][index]["pid"] = pid
    save_state(var, state)


def wait_healthy(state: dict[str, Any], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for index, node in state["nodes"].items():
        while True:
            code, body = health(node["port"])
            if code == 200:
                break
            if time.monotonic() > deadline:
                sys.exit(f"node {index} is not healthy after {timeout:g} s: {code} {body.get('reasons')}")
            time.sleep(0.5)


def _all_groups(state: dict[str, Any]) -> list[int]:
    pids = [node["pid"] for node in state["nodes"].values() if "pid" in node]
    return pids + ([state["pgbouncer_pid"]] if "pgbouncer_pid" in state else [])


def cmd_down(args: argparse.Namespace) -> None:
    var = Path(args.var).resolve()
    state = load_state(var)
    for node in state["nodes"].values():  # nodes first: they drain, then the pooler goes
        if "pid" in node:
            stop_group(node["pid"])
    if "pgbouncer_pid" in state:
        stop_group(state["pgbouncer_pid"], timeout=10)
    say("layout down")


def status_text(state: dict[str, Any]) -> str:
    lines = []
    pgb = state.get("pgbouncer_pid")
    lines.append(
        f"pgbouncer  pid {pgb} {'up' if pgb and group_alive(pgb) else 'DOWN'}  {state['pooled_url']}"
    )
    for index, node in state["nodes"].items():
        alive = "pid" in node and group_alive(node["pid"])
        code, body = health(node["port"]) if alive else (0, {})
        reasons = "; ".join(body.get("reasons", []))
        lines.append(
            f"node {index}     pid {node.get('pid')} {'up' if alive else 'DOWN'}  "
            f"http://127.0.0.1:{node['port']}  /health {code or '-'} {reasons}"
        )
    lines.append(f"broker     {state['broker']}")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> None:
    state = load_state(Path(args.var).resolve())
    text = status_text(state)
    say(text)
    if "DOWN" in text:
        sys.exit(1)


def cmd_run(args: argparse.Namespace) -> None:
    state = load_state(Path(args.var).resolve())
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    sys.exit(subprocess.run(command, cwd=ROOT, env=app_env(state, direct=True)).returncode)


# --- one node: a supervisor whose children share its process group --------------------------------
def node_children(state: dict[str, Any], index: str) -> dict[str, list[str]]:
    var = Path(state["var"])
    node = state["nodes"][index]
    children = {
        "web": [
            PYTHON, "-m", "gunicorn", "oms.wsgi:application", "--bind", f"127.0.0.1:{node['port']}",
            "--workers", str(state["web_workers"]), "--threads", "4", "--timeout", "60",
            "--access-logfile", "-",
        ],
    }  # fmt: skip
    for queue, concurrency in state["queues"].items():
        children[f"worker-{queue}"] = [
            PYTHON, "-m", "celery", "-A", "oms", "--quiet", "worker", "-Q", queue, "-c", str(concurrency),
            "-n", f"{queue}-node{index}@%h", "--without-mingle", "--without-gossip", "--loglevel", "INFO",
        ]  # fmt: skip
    children["beat"] = [
        PYTHON, "-m", "celery", "-A", "oms", "beat", "--loglevel", "INFO",
        "--schedule", str(var / f"node-{index}" / "celerybeat-schedule"),
        "--max-interval", str(state["beat_interval"]),
    ]  # fmt: skip
    return children


def cmd_node(args: argparse.Namespace) -> None:
    var = Path(args.var).resolve()
    state = load_state(var)
    index = str(args.index)
    env = app_env(state)
    logs = var / f"node-{index}"
    # prometheus_client's multiprocess files: one folder for all of this node's processes, emptied
    # before they start, so /metrics sums this node's live processes and no dead one's counters.
    metrics_dir = logs / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    children = node_children(state, index)
    running: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def start(name: str) -> None:
        with (logs / f"{name}.log").open("ab") as out:
            running[name] = subprocess.Popen(
                children[name],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        (logs / "pids.json").write_text(json.dumps({n: p.pid for n, p in running.items()}))

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for name in children:
        start(name)
    say(f"node {index}: started {', '.join(children)}")
    while not stopping:
        for name, proc in list(running.items()):
            if proc.poll() is not None and not stopping:
                say(f"node {index}: {name} exited with {proc.returncode}; starting it again")
                time.sleep(1)
                start(name)
        time.sleep(0.5)
    for proc in running.values():  # a warm stop: workers finish the task in hand, gunicorn its requests
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
    deadline = time.monotonic() + STOP_SECONDS - 5
    for proc in running.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    say(f"node {index}: stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    default_var = os.environ.get("OMS_LAYOUT_DIR", str(ROOT / "var" / "layout"))

    up = sub.add_parser("up", help="start PgBouncer and the nodes")
    up.add_argument("--var", default=default_var, help="where the ini, logs, secrets and state go")
    up.add_argument("--database", required=True, help="PostgreSQL, directly: postgres://user@host:port/name")
    up.add_argument("--broker", required=True, help="redis://... or amqp://user:pass@host:5672/vhost")
    up.add_argument("--redis", default="", help="Redis for the cache (default: the broker when it is Redis)")
    up.add_argument("--nodes", type=int, default=1)
    up.add_argument("--port", type=int, default=8100, help="node i's gunicorn listens on port + i - 1")
    up.add_argument("--pgbouncer-port", type=int, default=6432)
    up.add_argument("--web-workers", type=int, default=2)
    up.add_argument("--concurrency", default="", help="queue=N,... over the defaults " + str(QUEUES))
    up.add_argument("--beat-max-interval", type=int, default=5)
    up.add_argument("--env", action="append", default=[], help="KEY=VALUE for every process (repeat)")
    up.add_argument("--migrate", action="store_true", help="run migrations first (straight to PostgreSQL)")
    up.add_argument("--collectstatic", action="store_true", help="collect the admin's static files first")
    up.add_argument("--wait", type=float, default=120, help="seconds to wait for /health 200 (0: do not)")
    up.set_defaults(func=cmd_up)

    for name, func in (("down", cmd_down), ("status", cmd_status)):
        p = sub.add_parser(name)
        p.add_argument("--var", default=default_var)
        p.set_defaults(func=func)

    run = sub.add_parser("run", help="run a command with the layout's environment")
    run.add_argument("--var", default=default_var)
    run.add_argument("command", nargs=argparse.REMAINDER)
    run.set_defaults(func=cmd_run)

    node = sub.add_parser("node", help=argparse.SUPPRESS)
    node.add_argument("--var", default=default_var)
    node.add_argument("--index", required=True)
    node.set_defaults(func=cmd_node)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
